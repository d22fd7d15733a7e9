/** One OpenSeadragon viewer: an image's Deep Zoom pyramid, its overlay pyramids stacked on top
 * (same width, so they line up at every level), and polygons drawn in image pixels on an SVG layer
 * that follows every pan and zoom. Used for the mosaic and, smaller, for the dermoscopy panel. */
import OpenSeadragon from "openseadragon";
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import { lengthText, scaleBar, type Point } from "../lib/registration";

export interface ViewerOverlay {
  id: string;
  dzi: string;
}

export interface ViewerPolygon {
  points: Point[];
  colour: string;
  closed?: boolean;
  dashed?: boolean;
  fill?: string;
  label?: string;
}

export interface ViewerMarker {
  point: Point;
  label: string;
  colour: string;
}

/** Where the view is: zoom and centre in OpenSeadragon's viewport units, shared by images of one field. */
export interface ViewState {
  zoom: number;
  centre: { x: number; y: number };
}

export interface DeepZoomHandle {
  panTo(point: Point, zoomToWidthPx?: number): void;
  home(): void;
  zoomBy(factor: number): void;
  getView(): ViewState | null;
  setView(view: ViewState): void;
}

interface Props {
  dzi: string;
  imageSize: { width: number; height: number };
  overlays: ViewerOverlay[];
  overlayOpacity: number;
  polygons?: ViewerPolygon[];
  navigator?: boolean;
  label: string;
  /** Keep the view (zoom and centre) when the image changes: frames of a stack, mosaics of one field. */
  keepView?: boolean;
  /** The initial view once the image opens (a view kept per image by the page). */
  initialView?: ViewState | null;
  onImageClick?: (point: Point) => void;
  onImageDoubleClick?: (point: Point) => void;
  /** A press-drag-release on the image (freehand drawing): panning by mouse is off while it is set. */
  onImageDrag?: (phase: "start" | "move" | "end", point: Point) => void;
  /** Numbered points (landmarks, a ruler's ends). */
  markers?: ViewerMarker[];
  /** Vertices a person can drag (and remove with a double-click) to edit a polygon. */
  handles?: {
    points: Point[];
    onDragStart?: (index: number) => void;
    onMove: (index: number, point: Point) => void;
    onRemove?: (index: number) => void;
  };
  /** Draws a scale bar in µm at this spacing. */
  pixelSpacingUm?: number | null;
  onViewChange?: (view: ViewState) => void;
  testId?: string;
}

export const DeepZoomViewer = forwardRef<DeepZoomHandle, Props>(function DeepZoomViewer(props, ref) {
  const host = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<OpenSeadragon.Viewer | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const [shownOpacity, setShownOpacity] = useState<number | null>(null);
  const [loaded, setLoaded] = useState(0);
  const [, setTick] = useState(0);
  const [lastClick, setLastClick] = useState<Point | null>(null);

  useEffect(() => {
    const viewer = OpenSeadragon({
      element: host.current!,
      showNavigationControl: false,
      showNavigator: Boolean(latest.current.navigator),
      navigatorPosition: "BOTTOM_RIGHT",
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false },
      // A double-click closes an outline: only two clicks on (nearly) one spot, not two quick points.
      dblClickDistThreshold: 5,
      crossOriginPolicy: false,
      maxZoomPixelRatio: 4,
      visibilityRatio: 0.6,
      animationTime: 0.4,
      immediateRender: false,
    });
    viewerRef.current = viewer;
    const redraw = () => setTick((tick) => tick + 1);
    viewer.addHandler("update-viewport", redraw);
    viewer.addHandler("animation-finish", () => {
      const report = latest.current.onViewChange;
      if (report && viewer.world.getItemCount()) {
        const centre = viewer.viewport.getCenter();
        report({ zoom: viewer.viewport.getZoom(), centre: { x: centre.x, y: centre.y } });
      }
    });
    const dragged = (phase: "start" | "move" | "end") => (event: OpenSeadragon.CanvasDragEvent | OpenSeadragon.CanvasPressEvent | OpenSeadragon.CanvasReleaseEvent) => {
      const handler = latest.current.onImageDrag;
      const item = viewer.world.getItemAt(0);
      if (!handler || !item) return;
      (event as { preventDefaultAction?: boolean }).preventDefaultAction = true; // no panning while drawing
      const point = item.viewerElementToImageCoordinates(event.position);
      handler(phase, [point.x, point.y]);
    };
    viewer.addHandler("canvas-press", dragged("start"));
    viewer.addHandler("canvas-drag", dragged("move"));
    viewer.addHandler("canvas-release", dragged("end"));
    viewer.addHandler("canvas-click", (event) => {
      const item = viewer.world.getItemAt(0);
      if (!item || !event.quick) return;
      const point = item.viewerElementToImageCoordinates(event.position);
      const handler = latest.current.onImageClick;
      setLastClick([point.x, point.y]);
      if (handler) {
        event.preventDefaultAction = true;
        handler([point.x, point.y]);
      }
    });
    viewer.addHandler("canvas-double-click", (event) => {
      const item = viewer.world.getItemAt(0);
      const handler = latest.current.onImageDoubleClick;
      if (item && handler) {
        event.preventDefaultAction = true;
        const point = item.viewerElementToImageCoordinates(event.position);
        handler([point.x, point.y]);
      }
    });
    return () => {
      viewer.destroy();
      viewerRef.current = null;
    };
  }, []);

  // Open the image, then its overlays; keep the view across images of the same field when asked.
  const overlayKey = props.overlays.map((overlay) => overlay.dzi).join("|");
  useEffect(() => {
    const viewer = viewerRef.current;
    if (!viewer) return;
    const keep = latest.current.initialView ?? (latest.current.keepView && viewer.world.getItemCount() > 0
      ? { zoom: viewer.viewport.getZoom(), centre: viewer.viewport.getCenter() } : null);
    let cancelled = false;
    const onOpen = () => {
      if (cancelled) return;
      if (keep) {
        viewer.viewport.zoomTo(keep.zoom, undefined, true);
        viewer.viewport.panTo(new OpenSeadragon.Point(keep.centre.x, keep.centre.y), true);
      }
      const overlays = latest.current.overlays;
      let added = 0;
      for (const overlay of overlays) {
        viewer.addTiledImage({
          tileSource: overlay.dzi, x: 0, y: 0, width: 1, opacity: latest.current.overlayOpacity,
          success: () => { added += 1; if (added === overlays.length) setLoaded((n) => n + 1); },
        } as OpenSeadragon.TileSourceSpecifier);
      }
      if (!overlays.length) setLoaded((n) => n + 1);
    };
    viewer.addOnceHandler("open", onOpen);
    viewer.open({ tileSource: props.dzi } as OpenSeadragon.TileSourceSpecifier);
    return () => {
      cancelled = true;
      viewer.removeHandler("open", onOpen);
    };
  }, [props.dzi, overlayKey]);

  // Opacity (0 hides the overlay): applied to every overlay item, then read back for display and tests.
  useEffect(() => {
    const viewer = viewerRef.current;
    if (!viewer) return;
    for (let index = 1; index < viewer.world.getItemCount(); index += 1) {
      viewer.world.getItemAt(index).setOpacity(props.overlayOpacity);
    }
    const count = viewer.world.getItemCount();
    setShownOpacity(count > 1 ? viewer.world.getItemAt(1).getOpacity() : null);
  }, [props.overlayOpacity, loaded]);

  useImperativeHandle(ref, () => ({
    panTo([x, y], zoomToWidthPx) {
      const viewer = viewerRef.current;
      const item = viewer?.world.getItemAt(0);
      if (!viewer || !item) return;
      const centre = item.imageToViewportCoordinates(x, y);
      viewer.viewport.panTo(centre);
      if (zoomToWidthPx) {
        const width = item.imageToViewportRectangle(0, 0, zoomToWidthPx, zoomToWidthPx).width;
        viewer.viewport.zoomTo(Math.max(viewer.viewport.getZoom(), 1 / width));
      }
    },
    home() {
      viewerRef.current?.viewport.goHome();
    },
    zoomBy(factor) {
      viewerRef.current?.viewport.zoomBy(factor);
    },
    getView() {
      const viewer = viewerRef.current;
      if (!viewer || !viewer.world.getItemCount()) return null;
      const centre = viewer.viewport.getCenter();
      return { zoom: viewer.viewport.getZoom(), centre: { x: centre.x, y: centre.y } };
    },
    setView(view) {
      const viewer = viewerRef.current;
      if (!viewer) return;
      viewer.viewport.zoomTo(view.zoom, undefined, true);
      viewer.viewport.panTo(new OpenSeadragon.Point(view.centre.x, view.centre.y), true);
    },
  }), []);

  // Dragging a vertex handle: pointer events on the SVG handle, mapped back to image pixels.
  const dragIndex = useRef<number | null>(null);
  const imagePointOf = (clientX: number, clientY: number): Point | null => {
    const viewer = viewerRef.current;
    const element = host.current;
    const first = viewer?.world.getItemAt(0);
    if (!viewer || !element || !first) return null;
    const box = element.getBoundingClientRect();
    const point = first.viewerElementToImageCoordinates(new OpenSeadragon.Point(clientX - box.left, clientY - box.top));
    return [point.x, point.y];
  };

  const item = viewerRef.current?.world.getItemAt(0);
  // Where the view is, in image pixels: shown to assistive tech and read by the browser tests.
  const centre = item ? item.viewportToImageCoordinates(viewerRef.current!.viewport.getCenter(true)) : null;
  const toScreen = ([x, y]: Point) => {
    const point = item!.imageToViewerElementCoordinates(new OpenSeadragon.Point(x, y));
    return `${point.x.toFixed(1)},${point.y.toFixed(1)}`;
  };
  // Screen pixels per image pixel now: for the scale bar (and read by the browser tests).
  const screenPerImage = item ? item.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0)).x
    - item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0)).x : 0;
  const bar = props.pixelSpacingUm && screenPerImage > 0 ? scaleBar(props.pixelSpacingUm, screenPerImage / 1000) : null;
  const handles = props.handles;
  return (
    <div className="dz" data-testid={props.testId} data-overlay-opacity={shownOpacity ?? ""}
      data-screen-px-per-image-px={screenPerImage ? (screenPerImage / 1000).toFixed(5) : ""}
      data-overlays={props.overlays.length} data-image={props.dzi}
      data-centre={centre ? `${Math.round(centre.x)},${Math.round(centre.y)}` : ""}
      data-last-click={lastClick ? lastClick.map((v) => v.toFixed(1)).join(",") : ""} aria-label={props.label} role="img">
      <div ref={host} className="dz-canvas" />
      {item && (props.markers?.length || handles?.points.length) ? (
        <svg className="dz-shapes dz-marks">
          {props.markers?.map((marker, index) => {
            const [x, y] = toScreen(marker.point).split(",").map(Number);
            return (
              <g key={`m${index}`} data-testid="viewer-marker">
                <circle cx={x} cy={y} r={6} style={{ stroke: marker.colour, fill: "rgba(0,0,0,0.35)" }} />
                <text x={x + 8} y={y - 8} style={{ fill: marker.colour }}>{marker.label}</text>
              </g>
            );
          })}
          {handles?.points.map((point, index) => {
            const [x, y] = toScreen(point).split(",").map(Number);
            return (
              <rect key={`h${index}`} className="dz-handle" x={x - 5} y={y - 5} width={10} height={10} data-testid="vertex-handle"
                onPointerDown={(event) => { event.stopPropagation(); event.preventDefault(); dragIndex.current = index;
                  handles.onDragStart?.(index); (event.target as Element).setPointerCapture(event.pointerId); }}
                onPointerMove={(event) => {
                  if (dragIndex.current !== index) return;
                  const moved = imagePointOf(event.clientX, event.clientY);
                  if (moved) handles.onMove(index, moved);
                }}
                onPointerUp={(event) => { dragIndex.current = null; (event.target as Element).releasePointerCapture(event.pointerId); }}
                onDoubleClick={(event) => { event.stopPropagation(); handles.onRemove?.(index); }}>
                <title>Drag to move; double-click to remove</title>
              </rect>
            );
          })}
        </svg>
      ) : null}
      {bar ? (
        <div className="scale-bar" data-testid="scale-bar" data-um={bar.um} aria-label={`Scale bar ${lengthText(bar.um)}`}>
          <div className="scale-bar-line" style={{ width: `${bar.px}px` }} />
          <span>{lengthText(bar.um)}</span>
        </div>
      ) : null}
      {item && props.polygons?.length ? (
        <svg className="dz-shapes" aria-hidden="true">
          {props.polygons.map((polygon, index) => {
            const points = polygon.points.map(toScreen).join(" ");
            const style = { stroke: polygon.colour, fill: polygon.fill ?? "none", strokeDasharray: polygon.dashed ? "6 4" : undefined };
            return polygon.closed === false
              ? <polyline key={index} points={points} style={style} />
              : <polygon key={index} points={points} style={style}><title>{polygon.label}</title></polygon>;
          })}
        </svg>
      ) : null}
    </div>
  );
});
