/**
 * What every page is shown in: its code loaded on first use (each page is its own chunk, so
 * the first load carries only the shell), and an error boundary, so a page that fails says so
 * and offers a retry instead of blanking the console.
 */
import { signal, useSignal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { useErrorBoundary } from 'preact/hooks';

export type PageModule = { default: ComponentType };
export type PageLoader = () => Promise<PageModule>;

const loaded = new Map<PageLoader, ReturnType<typeof signal<ComponentType | Error | undefined>>>();

function load(loader: PageLoader) {
  let entry = loaded.get(loader);
  if (!entry) {
    const created = signal<ComponentType | Error | undefined>(undefined);
    entry = created;
    loaded.set(loader, created);
    loader().then(
      (module) => {
        created.value = module.default;
      },
      (error: unknown) => {
        created.value = error instanceof Error ? error : new Error(String(error));
      },
    );
  }
  return entry;
}

export function PageFrame({ loader, title }: { loader: PageLoader; title: string }) {
  const [error, reset] = useErrorBoundary();
  const attempt = useSignal(0);
  const page = attempt.value >= 0 ? load(loader).value : undefined; // a retry renders again
  if (error || page instanceof Error) {
    const failure: unknown = error ?? page;
    return (
      <section class="page">
        <h1>{title}</h1>
        <p class="error" role="alert">
          This page failed: {failure instanceof Error ? failure.message : String(failure)}
        </p>
        <button
          type="button"
          onClick={() => {
            if (page instanceof Error) loaded.delete(loader); // load it again
            reset();
            attempt.value += 1;
          }}
        >
          Try again
        </button>
      </section>
    );
  }
  if (!page) return <p class="loading">Loading…</p>;
  const Page = page;
  return <Page />;
}
