// The signed-in user in the header (GET /api/v1/whoami), a "Sign in" link
// when auth is on and nobody is signed in, or "auth off" when the server runs
// without --auth. Any call answered 401 ('kiln:unauthorized' from api.js)
// sends the browser to the sign-in page, which comes back here afterwards.
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { session, refreshSession, signOut } from '../components/session.js';
import './Identity.css';

function here() {
  return window.location.pathname + window.location.search;
}

export function HeaderWidget() {
  // The location is read so the "Sign in" link's next= follows navigation.
  const { route, url } = useLocation();

  useEffect(() => {
    refreshSession();
    const onChanged = () => refreshSession();
    const onUnauthorized = () => {
      if (window.location.pathname.startsWith('/ui/sign-in')) return;
      route(`/ui/sign-in?next=${encodeURIComponent(here())}`);
    };
    window.addEventListener('kiln:auth-changed', onChanged);
    window.addEventListener('kiln:unauthorized', onUnauthorized);
    return () => {
      window.removeEventListener('kiln:auth-changed', onChanged);
      window.removeEventListener('kiln:unauthorized', onUnauthorized);
    };
  }, []);

  const s = session.value;
  if (s.state === 'loading') return <span class="identity muted">…</span>;
  if (s.state === 'auth-off') {
    return (
      <span class="identity" data-testid="identity" title={s.message}>
        anonymous <span class="muted">(auth off: every call is allowed)</span>
      </span>
    );
  }
  if (s.state === 'signed-in') {
    const p = s.principal;
    const role = p.admin ? 'admin' : p.global_role && p.global_role !== 'none' ? p.global_role : '';
    return (
      <span class="identity" data-testid="identity">
        <span>
          Signed in as <strong data-testid="identity-name">{p.name}</strong>
          {role && <span class="muted"> ({role})</span>}
        </span>
        <button
          type="button"
          onClick={async () => {
            const back = here();
            await signOut();
            // The sign-out's own 401s may have routed there already: replace, not push, then.
            route(`/ui/sign-in?next=${encodeURIComponent(back)}`, window.location.pathname.startsWith('/ui/sign-in'));
          }}
        >
          Sign out
        </button>
      </span>
    );
  }
  if (s.state === 'error') {
    return (
      <span class="identity error" data-testid="identity" title={s.message}>
        identity unknown
      </span>
    );
  }
  if (url.startsWith('/ui/sign-in')) return <span class="identity muted" data-testid="identity">not signed in</span>;
  return (
    <span class="identity" data-testid="identity">
      <a href={`/ui/sign-in?next=${encodeURIComponent(url)}`}>Sign in</a>
    </span>
  );
}

export const order = 100;
