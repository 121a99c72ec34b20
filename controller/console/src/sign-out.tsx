/**
 * Sign out, confirmed in a modal dialog (modal-dialog.tsx, the console's dialog pattern: the
 * opener says `aria-haspopup="dialog"`, Esc or Cancel closes it, and focus returns to the opener).
 */
import { useSignal } from '@preact/signals';
import { CancelButton, ModalDialog } from './modal-dialog.js';
import { signOut } from './session.js';

export function SignOutButton() {
  const asking = useSignal(false);
  return (
    <>
      <button type="button" aria-haspopup="dialog" onClick={() => (asking.value = true)}>
        Sign out
      </button>
      {asking.value && (
        <ModalDialog
          class="sign-out-dialog"
          title="Sign out of Earshot?"
          onClose={() => (asking.value = false)}
        >
          <p>Pages open in other tabs of this browser are signed out too.</p>
          <div class="sign-out-actions">
            <CancelButton />
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </ModalDialog>
      )}
    </>
  );
}
