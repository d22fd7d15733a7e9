"""Building a case for the quality gate through the API, from a phantom with known ground truth:
its mosaic, its dermoscopy image, the registration between them and the lesion outline."""

from __future__ import annotations

from dermrelay.analysis.models import ModelVersion
from dermrelay.analysis.catalogue import model_versions_sync
from dermrelay.cases.models import Image, ImageKind
from dermrelay.imaging import selectors as imaging_selectors
from inference.phantoms.encoding import jpeg_bytes as jpeg_of
from inference.phantoms.encoding import png_bytes as png_of
from inference.phantoms.generator import Phantom
from inference.phantoms.outlines import lesion_polygon, mask_polygon
from tests.factories import make_case, upload
from tests.reading.helpers import assign, submit


LESION_MODEL = "dermoscopy-lesion-segmentation"
QUALITY_MODEL = "rcm-quality-mednet"


def models_sync_quality_model_only() -> None:
    """The shipped models, but only the RCM quality model active: a clinic where a person outlines
    the lesion (the tests of the person's outline and of the whole-mosaic fallback), and where a
    dermoscopy upload adds no diagnosis runs to the case."""
    model_versions_sync()
    ModelVersion.objects.exclude(name=QUALITY_MODEL).update(is_active=False)


def upload_phantom_case(client, case, phantom: Phantom, *, outline: bool = True, register: bool = True) -> dict:
    """Upload the dermoscopy image and the mosaic; register and outline through the API. Returns ids."""
    dermoscopy = upload(client, case, jpeg_of(phantom.dermoscopy), name="dermoscopy.jpg", kind=ImageKind.DERMOSCOPY)
    assert dermoscopy.status_code == 201, dermoscopy.content
    mosaic = upload(client, case, png_of(phantom.image), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                    depth_level="dej", pixel_spacing_um=phantom.pixel_spacing_um)
    assert mosaic.status_code == 201, mosaic.content
    ids = {"dermoscopy": dermoscopy.json()["id"], "mosaic": mosaic.json()["id"]}
    if register:
        response = client.put(f"/api/v1/images/{ids['mosaic']}/registration/",
                              {"dermoscopy": ids["dermoscopy"], "matrix": phantom.registration.tolist()}, format="json")
        assert response.status_code == 200, response.content
    if outline:
        response = client.put(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/",
                              {"polygon": lesion_polygon(phantom)}, format="json")
        assert response.status_code == 200, response.content
    return ids


def clinic_with_shipped_models():
    """A site and its technician (with an API client), every shipped model registered."""
    from dermrelay.accounts.models import Role
    from tests.factories import api_client, make_site, make_user

    model_versions_sync()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, tech, api_client(tech)


def assigned_phantom_case(clinic, phantom, **kwargs):
    """A phantom case uploaded by the clinic, submitted and assigned to the clinic's reader."""
    case = make_case(site=clinic.site, actor=clinic.tech)
    ids = upload_phantom_case(clinic.tech_client, case, phantom, **kwargs)
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    return case, ids


def uninformative_polygon(phantom, mosaic_id) -> list[list[float]]:
    """The phantom's true uninformative area traced in viewable-mosaic pixels (after the caption crop)."""
    crop = imaging_selectors.pyramid_of(image=Image.objects.get(pk=mosaic_id)).crop
    dx, dy = (crop[0], crop[1]) if crop else (0, 0)
    return [[x - dx, y - dy] for x, y in mask_polygon(phantom.uninformative & phantom.valid)]
