"""Reads of derived imaging data for images the caller has already been allowed to see."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from dermrelay.cases.models import Image

from .models import Pyramid, Registration
from .tiles import tile_url_base


def viewer_descriptor(*, image: Image, absolute) -> dict | None:
    """What a deep-zoom viewer needs: sizes, levels, frames with depth, and signed tile URLs.
    None while the pyramid is not built yet. `absolute` turns a path into an absolute URL."""
    pyramid = Pyramid.objects.filter(image=image).first()
    if pyramid is None:
        return None
    base, expires = tile_url_base(pyramid.prefix)
    base = absolute(base)
    frames = []
    for index in range(pyramid.frames):
        depth = image.depth_um + index * image.z_step_um if image.depth_um is not None and image.z_step_um else (
            image.depth_um if pyramid.frames == 1 else None)
        frames.append({
            "index": index, "depth_um": depth,
            "dzi": f"{base}/f{index:04d}.dzi",
            "tiles": f"{base}/f{index:04d}_files/{{level}}/{{col}}_{{row}}.jpeg",
        })
    return {
        "image": str(image.id), "kind": image.kind, "depth_level": image.depth_level,
        "width": pyramid.width, "height": pyramid.height, "tile_size": pyramid.tile_size, "overlap": pyramid.overlap,
        "format": pyramid.tile_format, "max_level": pyramid.max_level, "pixel_spacing_um": image.pixel_spacing_um,
        "display_window": {"low": pyramid.window_low, "high": pyramid.window_high} if pyramid.window_low is not None else None,
        "crop": pyramid.crop, "frames": frames, "thumbnail": f"{base}/thumbnail.jpg",
        "expires_at": datetime.fromtimestamp(expires, tz=timezone.utc).isoformat(),
    }


def registration_of(*, mosaic: Image) -> Registration | None:
    return Registration.objects.filter(mosaic=mosaic).select_related("mosaic", "created_by").first()


def pyramid_of(*, image: Image) -> Pyramid | None:
    return Pyramid.objects.filter(image=image).first()


def pyramid_level_pixels(*, pyramid: Pyramid, max_side: int, frame: int = 0):
    """The finest Deep Zoom level of a frame whose longer side is at most `max_side`, stitched from
    its tiles in storage (a few small JPEGs; the original is never decoded): a numpy array."""
    import numpy as np
    import pyvips
    from django.core.files.storage import default_storage

    level = pyramid.max_level
    while level > 0 and max(math.ceil(pyramid.width / 2 ** (pyramid.max_level - level)),
                            math.ceil(pyramid.height / 2 ** (pyramid.max_level - level))) > max_side:
        level -= 1
    shrink = 2 ** (pyramid.max_level - level)
    width, height = math.ceil(pyramid.width / shrink), math.ceil(pyramid.height / shrink)
    size, overlap = pyramid.tile_size, pyramid.overlap
    out = None
    for row in range(math.ceil(height / size)):
        for col in range(math.ceil(width / size)):
            with default_storage.open(f"{pyramid.prefix}/f{frame:04d}_files/{level}/{col}_{row}.{pyramid.tile_format}") as f:
                tile = pyvips.Image.new_from_buffer(f.read(), "").numpy()
            if tile.ndim == 2:
                tile = tile[:, :, None]
            if out is None:
                out = np.zeros((height, width, tile.shape[2]), dtype=np.uint8)
            top, left = (overlap if row else 0), (overlap if col else 0)
            part = tile[top:top + min(size, height - row * size), left:left + min(size, width - col * size)]
            out[row * size:row * size + part.shape[0], col * size:col * size + part.shape[1]] = part[..., :out.shape[2]]
    return out[..., 0] if out.shape[2] == 1 else out[..., :3]


PROPOSAL_SIDE = 512  # pyramid level read for a proposal: the longer side at most this many pixels


def registration_proposal(*, actor, mosaic: Image, dermoscopy: Image):
    """An automatic proposal of where the dermoscopy lies on the mosaic, not saved: the person
    accepts it (PUT with source "automatic") or corrects it. Who may ask: who may register
    (annotation_scope). Reads both images' pixels, so it is audited like a view of them."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from dermrelay.audit.models import AuditOutcome
    from dermrelay.audit.services import audit_record
    from dermrelay.cases.models import RCM_KINDS, ImageKind
    from dermrelay.cases.selectors import case_annotatable
    from dermrelay.cases.services import ImageConflict

    from .auto_registration import Proposal, propose

    if not case_annotatable(user=actor, case=mosaic.case):
        audit_record(actor=actor, action="propose", object_type="registration", object_id=mosaic.id,
                     site_id=mosaic.case.site_id, outcome=AuditOutcome.DENIED)
        raise PermissionDenied("Only the clinic or the case's assigned reader may register its images.")
    if mosaic.kind not in RCM_KINDS:
        raise ValidationError({"mosaic": "Registrations map onto RCM mosaics or stacks."})
    if dermoscopy.kind != ImageKind.DERMOSCOPY or dermoscopy.case_id != mosaic.case_id:
        raise ValidationError({"dermoscopy": "Give a dermoscopy image of the same case."})
    pyramids = {p.image_id: p for p in Pyramid.objects.filter(image__in=[mosaic, dermoscopy])}
    if mosaic.id not in pyramids or dermoscopy.id not in pyramids:
        raise ImageConflict("The images are still being prepared for viewing: ask again once both are ready.",
                            code="not_ready")
    if not mosaic.pixel_spacing_um:
        result = Proposal(None, None, None, False, "No automatic proposal: the mosaic's pixel spacing is not "
                          "recorded, so its field's size is unknown. Place the field by hand or click landmark pairs.")
    else:
        m, d = pyramids[mosaic.id], pyramids[dermoscopy.id]
        result = propose(
            mosaic=pyramid_level_pixels(pyramid=m, max_side=PROPOSAL_SIDE, frame=m.frames // 2),
            mosaic_spacing_um=mosaic.pixel_spacing_um, mosaic_size=(m.width, m.height),
            dermoscopy=pyramid_level_pixels(pyramid=d, max_side=PROPOSAL_SIDE), dermoscopy_size=(d.width, d.height),
            dermoscopy_spacing_um=dermoscopy.pixel_spacing_um)
    audit_record(actor=actor, action="propose", object_type="registration", object_id=mosaic.id,
                 site_id=mosaic.case.site_id,
                 detail={"dermoscopy": str(dermoscopy.id), "confident": result.confident, "method": result.method})
    return result


def underived_images(*, limit: int, older_than_seconds: float = 60) -> list:
    """Stored images whose derivation was never queued (a crash between storing and queueing),
    oldest first; young ones are left to the request that is storing them."""
    import datetime

    from django.utils import timezone

    from dermrelay.cases.models import Image, ImageStatus

    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    return list(Image.objects.filter(status=ImageStatus.STORED, derivation__isnull=True, created_at__lt=cutoff)
                .order_by("created_at")[:limit])
