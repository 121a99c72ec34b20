/** A console URL with no page (yet). */
export function NotFoundPage() {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        This page does not exist. <a href="/">Back to the fleet</a>.
      </p>
    </section>
  );
}
