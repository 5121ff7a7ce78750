import type { Child } from "hono/jsx";

/**
 * A wide table's sideways-scrolling box, reachable by keyboard (a phone's reader or a keyboard
 * user scrolls it too): focusable, named after what it holds.
 */
export function TableWrap({ label, children }: { label: string; children?: Child }) {
  return (
    <section class="table-wrap" tabindex={0} aria-label={label}>
      {children}
    </section>
  );
}
