/** A console URL with no page (yet), or one the role cannot use. */
export function NotFoundPage({ reason }: { reason?: string }) {
  return (
    <section class="page">
      <h1>{reason ? 'Not available' : 'Not found'}</h1>
      <p>
        {reason ?? 'This page does not exist.'} <a href="/">Back to the start</a>.
      </p>
    </section>
  );
}
