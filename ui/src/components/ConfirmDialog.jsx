// A modal confirmation on the native <dialog> (showModal makes the rest of
// the page inert): labelled by its title, described by its body, focus moves
// to the first field or button when it opens, Tab and Shift+Tab cycle inside
// it, Escape (the dialog's cancel event) and the Cancel button close it
// without acting, and focus returns to the control that opened it.
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), a[href]';

export function ConfirmDialog({ open, title, children, confirmLabel, busy, error, onConfirm, onCancel, testId }) {
  const ref = useRef(null);
  const opener = useRef(null);
  // The latest `open` prop: the close event is queued, so by the time it is
  // dispatched the page may already have opened the dialog again.
  const wanted = useRef(open);
  wanted.current = open;
  const selfClosed = useRef(false);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
      const first = d.querySelector('[autofocus]') || d.querySelector(FOCUSABLE);
      first?.focus();
    } else if (!open) {
      if (d.open) {
        selfClosed.current = true;
        d.close();
      }
      opener.current?.focus?.();
      opener.current = null;
    }
  }, [open]);

  function onKeyDown(e) {
    if (e.key !== 'Tab') return;
    const items = [...ref.current.querySelectorAll(FOCUSABLE)];
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }

  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
      data-testid={testId}
      onKeyDown={onKeyDown}
      onCancel={(e) => {
        // Escape. While the action runs the dialog stays open.
        if (busy) e.preventDefault();
        else onCancel();
      }}
      onClose={() => {
        // The close event is queued: the page may have opened the dialog
        // again before it arrives. A close we asked for is ignored; one the
        // browser did by itself (e.g. a second Escape) while the page still
        // wants the dialog open brings the page's state in step.
        if (selfClosed.current) {
          selfClosed.current = false;
          return;
        }
        if (wanted.current && !ref.current?.open) onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) onConfirm();
        }}
      >
        <h2 id="confirm-title">{title}</h2>
        <div id="confirm-body">{children}</div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="confirm-actions">
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
