/**
 * The console's one dialog: a native modal `<dialog>`, opened with `showModal()` (the page
 * behind is inert, Esc closes it), labelled by its heading, and focus goes back to what opened it
 * when it closes, however it closes (Esc, Cancel, done). What opens one says
 * `aria-haspopup="dialog"`. Forms in one: FormDialog; a question: ConfirmDialog.
 */
import { type Signal, useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { failure } from './loaded.js';
import './modal-dialog.css';

export function ModalDialog({
  title,
  onClose,
  children,
  class: className,
}: {
  title: string;
  /** Called once the dialog has closed (Esc, a Cancel button, or `close()` after a success). */
  onClose: () => void;
  children: ComponentChildren;
  /** The dialog's classes: `modal` (the shared look, modal-dialog.css) unless a page gives its own. */
  class?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const closed = useRef(onClose);
  closed.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const onDialogClose = () => {
      closed.current();
      if (opener?.isConnected) opener.focus();
    };
    dialog.addEventListener('close', onDialogClose);
    dialog.showModal();
    return () => {
      dialog.removeEventListener('close', onDialogClose);
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} class={className ?? 'modal'} aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** Closes the dialog a control sits in (its `close` event then runs `onClose`). */
export function closeDialogOf(element: Element | null): void {
  element?.closest('dialog')?.close();
}

/** A Cancel button that closes its dialog. */
export function CancelButton({ label = 'Cancel' }: { label?: string }) {
  return (
    <button type="button" onClick={(event) => closeDialogOf(event.currentTarget)}>
      {label}
    </button>
  );
}

/**
 * A dialog around one form: its fields, then the refusal (a check's or the server's), Cancel and
 * the submit button (disabled while it runs). `onSubmit` gets the form's data and resolves to an
 * error to show, or to nothing when done: the dialog then closes, unless `stayOpen`; what it
 * throws is shown as the server's refusal (`failure`). `error` is the caller's, when other
 * controls in the form say something too.
 */
export function FormDialog({
  title,
  onClose,
  class: className,
  submitLabel,
  cancelLabel = 'Cancel',
  stayOpen = false,
  error: callerError,
  onSubmit,
  children,
}: {
  title: string;
  onClose: () => void;
  class?: string;
  submitLabel: string;
  cancelLabel?: string;
  stayOpen?: boolean;
  error?: Signal<string | undefined>;
  onSubmit: (form: FormData) => Promise<string | undefined> | Promise<void>;
  children: ComponentChildren;
}) {
  const ownError = useSignal<string | undefined>(undefined);
  const error = callerError ?? ownError;
  const busy = useSignal(false);
  return (
    <ModalDialog title={title} onClose={onClose} class={className}>
      <form
        method="dialog"
        onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          busy.value = true;
          let said: string | undefined;
          try {
            const answer: unknown = await onSubmit(new FormData(form));
            said = typeof answer === 'string' ? answer : undefined;
          } catch (err) {
            said = failure(err);
          } finally {
            busy.value = false;
          }
          error.value = said;
          if (said === undefined && !stayOpen) closeDialogOf(form);
        }}
      >
        {children}
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <div class="modal-actions">
          <CancelButton label={cancelLabel} />
          <button type="submit" disabled={busy.value}>
            {submitLabel}
          </button>
        </div>
      </form>
    </ModalDialog>
  );
}

/** A confirmation: the question, a confirm button (that may fail with the server's reason). */
export function ConfirmDialog({
  title,
  question,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  question: ComponentChildren;
  confirmLabel: string;
  /** Resolves to an error message to show, or to nothing when done (the dialog then closes); a throw shows the server's refusal. */
  onConfirm: () => Promise<string | undefined> | Promise<void>;
  onClose: () => void;
}) {
  return (
    <FormDialog title={title} onClose={onClose} submitLabel={confirmLabel} onSubmit={onConfirm}>
      <p>{question}</p>
    </FormDialog>
  );
}

/**
 * A secret shown this once (a new API token, a webhook's signing secret): kept only in the state
 * of the dialog that shows it, selected on focus, focused when shown (the button that asked for it
 * is gone), with a Copy button (without clipboard access it is selected for the keyboard instead).
 */
export function SecretOnce({
  title,
  label,
  advice,
  secret,
  onClose,
}: {
  title: string;
  label: string;
  /** What to do with it, said before it: "Copy it now: this is the only time it is shown." */
  advice: string;
  secret: string;
  onClose: () => void;
}) {
  const copied = useSignal(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <ModalDialog title={title} onClose={onClose}>
      <form method="dialog">
        <p>{advice}</p>
        <label>
          {label}
          <input
            ref={input}
            readOnly
            value={secret}
            class="secret"
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
        <p role="status">{copied.value ? 'Copied.' : ''}</p>
        <div class="modal-actions">
          <button
            type="button"
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(secret);
                copied.value = true;
              } catch {
                input.current?.select();
              }
            }}
          >
            Copy
          </button>
          <button type="submit">Done</button>
        </div>
      </form>
    </ModalDialog>
  );
}
