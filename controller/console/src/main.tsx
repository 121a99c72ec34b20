/** The console's entry: the theme (before anything renders), the stylesheet, the session, then the shell. */
import { render } from 'preact';
import { App } from './app.js';
import { loadSession } from './session.js';
import { applyStoredTheme } from './theme.js';
import './styles.css';

applyStoredTheme();
void loadSession();
render(<App />, document.getElementById('app')!);
