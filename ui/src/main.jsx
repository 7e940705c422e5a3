import { render } from 'preact';
import { LocationProvider, Router, Route } from 'preact-iso';
import { Experiments } from './pages/Experiments.jsx';
import { Runs } from './pages/Runs.jsx';
import './style.css';

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
          <a href="/ui/">Experiments</a>
        </nav>
      </header>
      <Router>
        <Route path="/ui/" component={Experiments} />
        <Route path="/ui/experiments/:id" component={Runs} />
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('app'));
