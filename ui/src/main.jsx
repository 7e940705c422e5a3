import { render } from 'preact';
import { LocationProvider, Router, Route } from 'preact-iso';
import './style.css';

// Every page module under pages/ declares its own routes and, optionally, its
// entry in the main navigation, so adding a page never edits this file:
//   export const routes = [{ path: '/ui/models', component: Models }];
//   export const nav = { label: 'Models', href: '/ui/models', order: 20 };
// Header widgets (identity, sign-in) likewise live in header/*.jsx and export
// `HeaderWidget` plus an `order`.
const pages = Object.values(import.meta.glob('./pages/*.jsx', { eager: true }));
const widgets = Object.values(import.meta.glob('./header/*.jsx', { eager: true }))
  .filter((m) => m.HeaderWidget)
  .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
const routes = pages.flatMap((m) => m.routes || []);
const navItems = pages
  .map((m) => m.nav)
  .filter(Boolean)
  .sort((a, b) => a.order - b.order);

function NotFound() {
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>
        <a href="/ui/">Back to experiments</a>
      </p>
    </main>
  );
}

function App() {
  return (
    <LocationProvider>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/ui/">
          kiln
        </a>
        <nav aria-label="Main">
          {navItems.map((n) => (
            <a key={n.href} href={n.href}>
              {n.label}
            </a>
          ))}
        </nav>
        <div class="header-widgets">
          {widgets.map((w, i) => (
            <w.HeaderWidget key={i} />
          ))}
        </div>
      </header>
      <Router>
        {routes.map((r) => (
          <Route key={r.path} path={r.path} component={r.component} />
        ))}
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('app'));
