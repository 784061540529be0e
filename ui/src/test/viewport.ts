// happy-dom lays nothing out, so every element measures 0×0 and a virtualised grid shows no row.
// Tests that render a grid import this: the grid's scroll area measures as a 1200×640 viewport
// (20 rows of 32 px); every other element measures as before.
export const VIEWPORT = { width: 1200, height: 640 };

const isGridBody = (e: Element) => e.classList.contains("vgrid-body");

for (const [prop, size] of [["clientWidth", "width"], ["clientHeight", "height"], ["offsetWidth", "width"], ["offsetHeight", "height"]] as const) {
  const real = Object.getOwnPropertyDescriptor(HTMLElement.prototype, prop) ?? Object.getOwnPropertyDescriptor(Element.prototype, prop);
  Object.defineProperty(HTMLElement.prototype, prop, {
    configurable: true,
    get(this: HTMLElement) {
      return isGridBody(this) ? VIEWPORT[size] : (real?.get?.call(this) ?? 0);
    },
  });
}

const realRect = Element.prototype.getBoundingClientRect;
Element.prototype.getBoundingClientRect = function (this: Element) {
  if (!isGridBody(this)) return realRect.call(this);
  const { width, height } = VIEWPORT;
  return { x: 0, y: 0, top: 0, left: 0, right: width, bottom: height, width, height, toJSON: () => ({}) } as DOMRect;
};
