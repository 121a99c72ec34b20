/**
 * A native modal `<dialog>`: opened with `showModal()` (the page behind is inert, Esc closes
 * it), labelled by its heading, and focus goes back to what opened it when it closes, however
 * it closes (Esc, Cancel, done).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
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
  /** Resolves to an error message to show, or undefined when done (the dialog then closes). */
  onConfirm: () => Promise<string | undefined>;
  onClose: () => void;
}) {
  const error = useRef<HTMLParagraphElement>(null);
  return (
    <ModalDialog title={title} onClose={onClose}>
      <form
        method="dialog"
        onSubmit={async (event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
          if (button) button.disabled = true;
          const failure = await onConfirm();
          if (button) button.disabled = false;
          if (failure === undefined) closeDialogOf(form);
          else if (error.current) error.current.textContent = failure;
        }}
      >
        <p>{question}</p>
        <p class="error" role="alert" ref={error} />
        <div class="modal-actions">
          <CancelButton />
          <button type="submit">{confirmLabel}</button>
        </div>
      </form>
    </ModalDialog>
  );
}
