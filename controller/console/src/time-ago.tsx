/**
 * A moment as the console shows it: how long ago ("5 min ago"), the full local date and time on
 * hover, the instant itself in `dateTime` (what assistive technology and scripts read); "never"
 * without one.
 */
import { relativeTime } from './fleet-model.js';

export function Ago({ iso, now = Date.now() }: { iso: string | null; now?: number }) {
  if (!iso) return <>never</>;
  return (
    <time dateTime={iso} title={new Date(iso).toString()}>
      {relativeTime(iso, now)}
    </time>
  );
}
