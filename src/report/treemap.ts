/**
 * The squarified treemap layout (Bruls, Huizing and van Wijk, "Squarified Treemaps",
 * 2000): rectangles with areas proportional to the values, laid out row by row along the
 * shorter side of the remaining space, a row growing while that improves its worst
 * aspect ratio.
 *
 * `squarify` must stay self-contained (no imports, no helpers outside its body): the HTML
 * report embeds its source text so that the page lays out the treemap offline.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Rectangles for `values` (any order, non-negative) inside the given rectangle, in the
 * order of `values`. Zero values get empty rectangles at the rectangle's corner.
 */
export function squarify(
  values: readonly number[],
  x: number,
  y: number,
  width: number,
  height: number,
): Rect[] {
  const result: Rect[] = values.map(() => ({ x, y, width: 0, height: 0 }));
  const total = values.reduce((sum, value) => sum + Math.max(value, 0), 0);
  if (total <= 0 || width <= 0 || height <= 0) return result;
  const scale = (width * height) / total;
  const order = values
    .map((value, index) => ({ area: value * scale, index }))
    .filter((item) => item.area > 0)
    .sort((left, right) => right.area - left.area || left.index - right.index);

  let left = x;
  let top = y;
  let remainingWidth = width;
  let remainingHeight = height;
  const worst = (areas: number[], side: number): number => {
    let sum = 0;
    let largest = 0;
    let smallest = Number.POSITIVE_INFINITY;
    for (const area of areas) {
      sum += area;
      if (area > largest) largest = area;
      if (area < smallest) smallest = area;
    }
    const sideSquared = side * side;
    const sumSquared = sum * sum;
    return Math.max((sideSquared * largest) / sumSquared, sumSquared / (sideSquared * smallest));
  };
  const placeRow = (row: { area: number; index: number }[], last: boolean) => {
    const sum = row.reduce((total, item) => total + item.area, 0);
    if (remainingWidth >= remainingHeight) {
      // A column along the left edge.
      const columnWidth = last ? remainingWidth : sum / remainingHeight;
      let cursor = top;
      for (const [position, item] of row.entries()) {
        const itemHeight =
          position === row.length - 1 ? top + remainingHeight - cursor : item.area / columnWidth;
        result[item.index] = { x: left, y: cursor, width: columnWidth, height: itemHeight };
        cursor += itemHeight;
      }
      left += columnWidth;
      remainingWidth -= columnWidth;
    } else {
      // A row along the top edge.
      const rowHeight = last ? remainingHeight : sum / remainingWidth;
      let cursor = left;
      for (const [position, item] of row.entries()) {
        const itemWidth =
          position === row.length - 1 ? left + remainingWidth - cursor : item.area / rowHeight;
        result[item.index] = { x: cursor, y: top, width: itemWidth, height: rowHeight };
        cursor += itemWidth;
      }
      top += rowHeight;
      remainingHeight -= rowHeight;
    }
  };

  let row: { area: number; index: number }[] = [];
  for (const item of order) {
    const side = Math.min(remainingWidth, remainingHeight);
    const rowAreas = row.map((member) => member.area);
    if (row.length === 0 || worst([...rowAreas, item.area], side) <= worst(rowAreas, side)) {
      row.push(item);
    } else {
      placeRow(row, false);
      row = [item];
    }
  }
  if (row.length > 0) placeRow(row, true);
  return result;
}
