/**
 * Sign out, confirmed in a native modal <dialog> (the console's dialog pattern: the opener
 * says `aria-haspopup="dialog"`, Esc or Cancel closes it, and focus returns to the opener).
 * The shell's own `<dialog>`, not modal-dialog.tsx's: the shell importing the pages' dialog code
 * would split it into a shared chunk, and the first load would fetch more than one script.
 */
import { useRef } from 'preact/hooks';
import { signOut } from './session.js';

export function SignOutButton() {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  return (
    <>
      <button type="button" ref={opener} aria-haspopup="dialog" onClick={() => dialog.current?.showModal()}>
        Sign out
      </button>
      <dialog
        ref={dialog}
        class="sign-out-dialog"
        aria-labelledby="sign-out-title"
        onClose={() => opener.current?.focus()}
      >
        <form method="dialog">
          <h2 id="sign-out-title">Sign out of Earshot?</h2>
          <p>Pages open in other tabs of this browser are signed out too.</p>
          <div class="sign-out-actions">
            <button type="submit" value="cancel">
              Cancel
            </button>
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
