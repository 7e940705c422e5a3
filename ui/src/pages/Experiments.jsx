import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { searchExperiments } from '../api.js';

function formatTime(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) : '';
}

export function Experiments() {
  const experiments = useSignal(null);
  const error = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    (async () => {
      const all = [];
      let token = '';
      try {
        do {
          const page = await searchExperiments(token, ctl.signal);
          all.push(...(page.experiments || []));
          token = page.next_page_token || '';
        } while (token);
        experiments.value = all;
      } catch (e) {
        if (e.name !== 'AbortError') error.value = e.message;
      }
    })();
    return () => ctl.abort();
  }, []);

  return (
    <main id="main">
      <h1>Experiments</h1>
      {error.value && <p role="alert" class="error">{error.value}</p>}
      {!experiments.value && !error.value && <p aria-live="polite">Loading…</p>}
      {experiments.value && (
        <table class="list" data-testid="experiments">
          <caption class="sr-only">Experiments</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {experiments.value.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <a href={`/ui/experiments/${encodeURIComponent(e.experiment_id)}`}>{e.name}</a>
                </td>
                <td>{e.experiment_id}</td>
                <td>{formatTime(e.creation_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

export const routes = [{ path: '/ui/', component: Experiments }];
export const nav = { label: 'Experiments', href: '/ui/', order: 10 };
