"""Training and evaluating the dermoscopy classifiers on HAM10000: diagnosis without (model A) and
with (model B) the body location, and the body region (`region7`) from the image.

Trained on `train`, chosen on `val`; seeded end to end. The classes are unbalanced (nv is two thirds
of HAM10000) and the paper's measure is balanced accuracy, which rewards the rare classes: batches
are drawn with class weights ∝ 1/√(class frequency), and the remaining tilt towards the frequent
classes is removed by post-hoc logit adjustment folded into the head's bias. Images enter at their
HAM10000 size (200x150, any other size is resized to it); the network enlarges them itself.
Metrics: inference.classification_metrics.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import classification_metrics, ham10000
from .networks.classifier import LocationAwareClassifier
from .training_loop import one_cycle_training, random_views, save_fp16, seed_everything, to_input

IMAGE_SIZE = (200, 150)  # width, height
# HAM10000's `localization` vocabulary; index 0 is "unknown" (also for anything not listed).
LOCATIONS = ("unknown", "abdomen", "acral", "back", "chest", "ear", "face", "foot", "genital", "hand",
             "lower extremity", "neck", "scalp", "trunk", "upper extremity")
TASKS = {
    "diagnosis": {"labels": ham10000.DX_CLASSES, "field": "dx", "locations": False},
    "diagnosis-location": {"labels": ham10000.DX_CLASSES, "field": "dx", "locations": True},
    "body-region": {"labels": ham10000.REGION7, "field": "region7", "locations": False},
}


def location_index(localization: str) -> int:
    return LOCATIONS.index(localization) if localization in LOCATIONS else 0


@dataclass(frozen=True)
class Examples:
    images: np.ndarray  # uint8 N x H x W x 3
    labels: np.ndarray  # int64 N
    locations: np.ndarray  # int64 N (0 = unknown)
    ids: list[str]


def examples(root: Path, records, task: str) -> Examples:
    """The records that carry the task's label, loaded at IMAGE_SIZE."""
    spec = TASKS[task]
    kept = [r for r in records if getattr(r, spec["field"]) in spec["labels"]]
    if not kept:
        raise ham10000.DataInvalid(f"none of the {len(records)} rows has a {spec['field']} among {', '.join(spec['labels'])}")
    paths = ham10000.find_images(root, [r.image_id for r in kept])
    return Examples(
        images=np.stack([ham10000.load_rgb(paths[r.image_id], IMAGE_SIZE) for r in kept]),
        labels=np.array([spec["labels"].index(getattr(r, spec["field"])) for r in kept], dtype=np.int64),
        locations=np.array([location_index(r.localization) for r in kept], dtype=np.int64),
        ids=[r.image_id for r in kept],
    )


def train_and_val(data: Path, task: str) -> tuple[Examples, Examples]:
    """The task's examples of the data set's train and val splits (metadata.csv's split column)."""
    records = ham10000.read_metadata(Path(data) / "metadata.csv")
    return tuple(examples(data, [r for r in records if r.split == split], task) for split in ("train", "val"))

def build(task: str, *, pretrained: bool, input_scale: float = 1.0) -> LocationAwareClassifier:
    spec = TASKS[task]
    return LocationAwareClassifier(classes=len(spec["labels"]), locations=len(LOCATIONS) - 1 if spec["locations"] else 0,
                                   pretrained=pretrained, input_scale=input_scale)


def test_time_views(x: np.ndarray) -> list[np.ndarray]:
    """The views each classifier answer averages: the image and its horizontal and vertical mirror
    images (16 turns and mirror images did no better on val: scripts/measure_test_time_views.py)."""
    return [x, x[..., ::-1], x[..., ::-1, :]]


def view_outputs(predict, images: np.ndarray, locations: np.ndarray | None = None, *, batch: int = 64) -> np.ndarray:
    """V x N x classes answers of `predict(x, locations)` on each of the test_time_views of uint8
    images at IMAGE_SIZE (at least one); `predict` maps normalised N x 3 x H x W input to probabilities
    (LoadedModel.predict in the platform) or logits (network_predict)."""
    locations = np.zeros(len(images), dtype=np.int64) if locations is None else np.asarray(locations, dtype=np.int64)
    found = []
    for start in range(0, len(images), batch):
        x, where = to_input(images[start:start + batch]), locations[start:start + batch]
        found.append(np.stack([predict(np.ascontiguousarray(v), where) for v in test_time_views(x)]))
    return np.concatenate(found, axis=1)


def classify(predict, images: np.ndarray, locations: np.ndarray | None = None, *, batch: int = 64) -> np.ndarray:
    """N x classes probabilities of uint8 images at IMAGE_SIZE, averaged over the test-time views.
    `predict` is LoadedModel.predict in the platform, network_predict(network) here."""
    return view_outputs(predict, images, locations, batch=batch).mean(axis=0) if len(images) else np.zeros((0, 0))


def resized(rgb: np.ndarray) -> np.ndarray:
    """Any uint8 RGB image at the classifiers' IMAGE_SIZE (bilinear, as in training)."""
    from PIL import Image as PILImage

    if (rgb.shape[1], rgb.shape[0]) == IMAGE_SIZE:
        return rgb
    return np.asarray(PILImage.fromarray(rgb).resize(IMAGE_SIZE, PILImage.BILINEAR))


def network_predict(network: LocationAwareClassifier, *, logits: bool = False):
    """`predict` for classify() and view_outputs() from a PyTorch network (training, evaluation), on
    its own device; float32 probabilities, or the logits when `logits`."""
    network.eval()
    device = next(network.parameters()).device

    def predict(x: np.ndarray, locations: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            found = network(torch.from_numpy(x).to(device), torch.from_numpy(locations).to(device)).float()
            return (found if logits else F.softmax(found, dim=1)).cpu().numpy()

    return predict


def probabilities(network: LocationAwareClassifier, data: Examples, *, batch: int = 64) -> np.ndarray:
    return classify(network_predict(network), data.images, data.locations, batch=batch)


SAMPLING = ("sqrt", "natural", "balanced")
SAMPLING_TEXT = {"sqrt": "class weights proportional to 1/sqrt(frequency)", "natural": "as the data come",
                 "balanced": "every class equally often"}  # as the cards say it
LOGIT_ADJUSTMENTS = (0.0, 0.5, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class TrainConfig:
    """The shipped recipe is the default; `make train-classifiers` and the model cards name it."""
    data: Path
    out: Path
    task: str = "diagnosis"
    epochs: int = 30
    batch: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.02
    seed: int = 2022  # batches, views, mixup
    init_seed: int | None = None  # the head's random starting weights; None: `seed`. Runs that share it can be averaged (soup)
    max_minutes: float | None = None
    threads: int | None = None
    device: str = "auto"  # "cuda" when there is one
    input_scale: float = 1.0  # >1 enlarges the 200x150 image inside the network (1.25, 1.5 did no better on val)
    sampling: str = "sqrt"  # batches drawn with class weights ∝ 1/√frequency (or "natural", "balanced")
    label_smoothing: float = 0.1
    ema_decay: float = 0.998  # the shipped weights are an exponential moving average of the trained ones
    logit_adjustment: float | None = None  # τ; None: the τ of LOGIT_ADJUSTMENTS with the best val balanced accuracy
    mixup: float = 0.4  # α of the Beta(α, α) mixing weight; 0: no mixup
    location_dropout: float = 0.1  # share of training images whose location is hidden, so "unknown" is learnt
    frozen_blocks: int = 0  # stem + this many blocks kept at their ImageNet weights (3 makes a CPU step 1.7x faster)


def training_device(name: str) -> torch.device:
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else "cpu" if name == "auto" else name)


def sampling_prior(counts: np.ndarray, sampling: str) -> np.ndarray:
    """How often each class is drawn per batch (sums to 1)."""
    drawn = {"sqrt": np.sqrt(counts), "natural": counts, "balanced": (counts > 0).astype(np.float64)}[sampling]
    return drawn / drawn.sum()


def log_prior(prior: np.ndarray) -> np.ndarray:
    """log of the sampling prior, a class never drawn counted as uniform (its logit is left alone)."""
    return np.log(np.where(prior > 0, prior, 1 / len(prior)))


def view_logits(network: LocationAwareClassifier, data: Examples, *, batch: int = 256) -> np.ndarray:
    """V x N x classes float32 logits of the test-time views: logit adjustment is chosen on these."""
    return view_outputs(network_predict(network, logits=True), data.images, data.locations, batch=batch)


def adjusted_probabilities(logits: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    """Mean softmax over the views of logits − τ·log(prior): Menon et al. (ICLR 2021) post-hoc logit
    adjustment, which turns a model of the training prior into one for balanced accuracy at τ = 1."""
    shifted = logits - tau * log_prior(prior)
    shifted = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).mean(axis=0)


# where each BatchNorm's mean and variance come from; the candidates are chosen between on val
BATCH_NORM = {
    "kept": "the moving average over the training batches (random views, mixup), as trained",
    "recomputed": "recomputed as the average over the plain train images, as the network sees images at test time",
}


def recalibrate_batch_norm(network: nn.Module, data: Examples, *, batch: int = 128) -> None:
    """Recompute every BatchNorm's running mean and variance as the average over batches of `data`
    (the plain images, as the network sees them at test time): the statistics gathered during
    training describe augmented, mixed-up images, and an average of several runs' statistics fits
    none of them."""
    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over all batches
    device = next(network.parameters()).device
    network.train()
    with torch.no_grad():
        for start in range(0, len(data.images), batch):
            x = torch.from_numpy(to_input(data.images[start:start + batch])).to(device)
            network(x, torch.from_numpy(data.locations[start:start + batch]).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    network.eval()


def with_batch_norm_recomputed(network: LocationAwareClassifier, data: Examples) -> LocationAwareClassifier:
    """A copy of the network with its BatchNorm statistics recomputed on `data` (the original is left alone)."""
    recomputed = copy.deepcopy(network)
    recalibrate_batch_norm(recomputed, data)
    return recomputed


def choose_fold_and_save(candidates: dict[str, LocationAwareClassifier], *, task: str, prior: np.ndarray,
                         val_data: Examples, out: Path, input_scale: float,
                         logit_adjustment: float | None) -> tuple[dict, np.ndarray]:
    """Choose the BatchNorm statistics (the candidates, keyed as BATCH_NORM) and the logit adjustment
    τ (unless given) together, by val balanced accuracy, fold τ into the head's bias and write the
    weights as fp16. Returns the choice with every candidate's val balanced accuracy by τ, and the
    val probabilities of exactly the fp16 weights that ship. Trained runs and weight soups end alike."""
    labels = TASKS[task]["labels"]
    taus = LOGIT_ADJUSTMENTS if logit_adjustment is None else (logit_adjustment,)
    answers = {}  # (candidate, τ) -> val classes
    for name, network in candidates.items():
        val_logits = view_logits(network, val_data)
        answers.update({(name, tau): adjusted_probabilities(val_logits, prior, tau).argmax(axis=1) for tau in taus})
    by_tau = {name: {tau: classification_metrics.balanced_accuracy(classification_metrics.confusion(
        val_data.labels, answers[name, tau], len(labels))) for tau in taus} for name in candidates}
    # ties go to the first candidate (the statistics as trained) and the smaller τ
    batch_norm, tau = max(((name, tau) for name in by_tau for tau in taus), key=lambda c: (by_tau[c[0]][c[1]], -c[1]))
    chosen = candidates[batch_norm]
    bias = chosen.head.bias
    with torch.no_grad():
        bias -= torch.as_tensor(tau * log_prior(prior), dtype=bias.dtype, device=bias.device)
    fp16 = save_fp16(chosen, out, build(task, pretrained=False, input_scale=input_scale)).to(bias.device)
    choice = {
        "logit_adjustment": {"tau": tau, "val_balanced_accuracy_by_tau": {str(t): round(v, 4) for t, v in by_tau[batch_norm].items()},
                             "chosen": "given" if logit_adjustment is not None else "best on val"},
        "batch_norm": {"statistics": BATCH_NORM[batch_norm], "chosen": batch_norm if len(candidates) > 1 else "the only candidate",
                       "val_balanced_accuracy_by_tau": {name: {str(t): round(v, 4) for t, v in found.items()}
                                                        for name, found in by_tau.items()},
                       # the chosen figure on val is optimistic; this one is not
                       "val_balanced_accuracy_chosen_on_other_half": classification_metrics.chosen_on_other_half(
                           val_data.labels, list(answers.values()), len(labels))},
    }
    return choice, probabilities(fp16, val_data, batch=256)


def starting_network(config: TrainConfig, *, pretrained: bool = True) -> LocationAwareClassifier:
    """ImageNet Lite0 with the head (and location embedding) drawn from `init_seed`: runs that differ
    only in `seed` start from the same weights, which is what lets their weights be averaged."""
    torch.manual_seed(config.seed if config.init_seed is None else config.init_seed)
    return build(config.task, pretrained=pretrained, input_scale=config.input_scale)


def train(config: TrainConfig, *, log=print) -> dict:
    """Fine-tune the whole network from ImageNet weights: seeded batches of random views (turns,
    mirrors, zoom, colour) on the training device, one-cycle AdamW, label smoothing and a moving
    average of the weights. Then the BatchNorm statistics (as trained, or recomputed on the plain
    train images) and the logit adjustment τ are chosen on val, τ is folded into the head's bias, the
    weights are written as fp16, and those are what val is measured on."""
    rng = seed_everything(config.seed)
    device = training_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    if device.type == "cuda":  # seeded, but cuDNN's fastest kernels are not bit-reproducible
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = True
    spec = TASKS[config.task]
    started = time.monotonic()
    train_data, val_data = train_and_val(config.data, config.task)
    log(f"{config.task}: {len(train_data.labels)} training and {len(val_data.labels)} validation images on {device} "
        f"({time.monotonic() - started:.0f} s)")
    counts = np.bincount(train_data.labels, minlength=len(spec["labels"])).astype(np.float64)
    prior = sampling_prior(counts, config.sampling)
    weights = (prior / np.maximum(counts, 1))[train_data.labels]
    weights /= weights.sum()
    network = starting_network(config)
    network.backbone.freeze_early(config.frozen_blocks)
    # channels-last makes oneDNN's depthwise convolutions 1.6x faster on this CPU (batch 32, 200x150)
    network = network.to(device, memory_format=torch.channels_last)
    average = torch.optim.swa_utils.AveragedModel(
        network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True) \
        if config.ema_decay else None
    images = torch.from_numpy(train_data.images).permute(0, 3, 1, 2).contiguous().to(device)  # uint8, 0.6 GB at most
    labels = torch.from_numpy(train_data.labels).to(device)
    locations = torch.from_numpy(train_data.locations).to(device)

    def step_loss(epoch: int) -> torch.Tensor:
        index = rng.choice(len(weights), size=config.batch, p=weights)
        hidden = rng.random(config.batch) < config.location_dropout
        where = torch.from_numpy(index).to(device)
        location = torch.where(torch.from_numpy(hidden).to(device), 0, locations[where])
        x = random_views(images[where], rng)
        target, weight = labels[where], 1.0
        if config.mixup:  # Zhang et al. 2018; the image that weighs more brings its location
            weight = float(max(lam := rng.beta(config.mixup, config.mixup), 1 - lam))
            other = torch.from_numpy(rng.permutation(config.batch)).to(device)
            x, other_target = weight * x + (1 - weight) * x[other], target[other]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = network(x.contiguous(memory_format=torch.channels_last), location).float()
        loss = F.cross_entropy(logits, target, label_smoothing=config.label_smoothing)
        if config.mixup:
            loss = weight * loss + (1 - weight) * F.cross_entropy(logits, other_target, label_smoothing=config.label_smoothing)
        return loss

    loop = one_cycle_training(network=network, epochs=config.epochs, steps_per_epoch=len(train_data.labels) // config.batch,
                              learning_rate=config.learning_rate, weight_decay=config.weight_decay, step_loss=step_loss,
                              started=started, max_minutes=config.max_minutes, log=log,
                              after_step=(lambda: average.update_parameters(network)) if average is not None else None)
    trained = (average.module if average is not None else network).eval()
    candidates = {"kept": trained, "recomputed": with_batch_norm_recomputed(trained, train_data)}
    choice, found = choose_fold_and_save(candidates, task=config.task, prior=prior, val_data=val_data, out=Path(config.out),
                                         input_scale=config.input_scale, logit_adjustment=config.logit_adjustment)
    summary = {
        "task": config.task, "device": str(device), "steps": loop.steps, "stopped_early": loop.stopped_early,
        "seconds": round(time.monotonic() - started), "first_loss": loop.first_loss, "last_loss": loop.last_loss,
        "train_images": int(len(train_data.labels)), "sampling_prior": [round(float(v), 4) for v in prior],
        **choice,
        "val": classification_metrics.report(val_data.labels, found, list(spec["labels"])),
    }
    out = Path(config.out)
    np.save(out.with_suffix(".val-probabilities.npy"), found)
    out.with_suffix(".train.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(json.dumps({k: summary["val"][k] for k in ("balanced_accuracy", "balanced_accuracy_ci95", "macro_auc")}))
    return summary


MODEL_NAMES = {"diagnosis": "dermoscopy-diagnosis", "diagnosis-location": "dermoscopy-diagnosis-location",
               "body-region": "body-region"}
TASK_TEXT = {
    "diagnosis": "7-class dermoscopy diagnosis from the image only (model A)",
    "diagnosis-location": "7-class dermoscopy diagnosis from the image and the body location (model B, Amruthalingam et al. 2022)",
    "body-region": "body region (region7) of a dermoscopy image",
}


_DATA_LIMITS = ("HAM10000 only: mostly fair skin, pigmented lesions, two sources (Vienna, Queensland), 200x150 "
                "images; 7 classes, so a lesion of any other kind is still given one of them.")
LIMITATIONS = {
    "diagnosis": _DATA_LIMITS,
    "diagnosis-location": _DATA_LIMITS + " The location input is HAM10000's localization vocabulary; the "
                          "platform maps recorded ISIC sites onto it (inference/body_sites.py), and uses the body-region "
                          "model's answer when no site is recorded.",
    "body-region": "Trained on HAM10000 dermoscopy close-ups, whose region follows the recorded localization: "
                   "the image often shows little that tells the region, and 'hand' and 'other' are rare (71 and 44 "
                   "images). On clinical photos it runs as a patch map and is out of its training domain: its "
                   "answer is a suggestion a person confirms, never recorded on its own.",
}


# TrainConfig fields that train-classifier takes as options, so a card's command can repeat the run
COMMAND_OPTIONS = ("epochs", "batch", "learning_rate", "seed", "init_seed", "input_scale", "sampling", "logit_adjustment",
                   "mixup")


def training_command(config: TrainConfig) -> str:
    """The train-classifier command that repeats this run: the options it changed from the recipe."""
    recipe = TrainConfig(data=config.data, out=config.out)
    changed = "".join(f" --{name.replace('_', '-')} {getattr(config, name)}" for name in COMMAND_OPTIONS
                      if getattr(config, name) != getattr(recipe, name))
    return f"python -m inference train-classifier --task {config.task} --data ../shared/datasets/ham10000{changed}"


def card_write(*, cards_dir: Path, weights: Path, summary: dict, config: TrainConfig, version: str) -> Path:
    from .registry import sha256_of

    spec = TASKS[config.task]
    card = {
        "name": MODEL_NAMES[config.task], "version": version, "task": TASK_TEXT[config.task], "modality": "dermoscopy",
        "labels": list(spec["labels"]),
        "output_activation": "softmax",
        "preferred_cpu_backend": "onnxruntime",
        "input": {"size": list(IMAGE_SIZE), "channels": 3,
                  "normalization": "RGB uint8 / 255, then (x - 0.5) / 0.5; the image is resized to size (width, height)",
                  "locations": list(LOCATIONS) if spec["locations"] else None,
                  "test_time_augmentation": "mean of the image and its horizontal and vertical mirror images"},
        "weights": {"file": f"../weights/{weights.name}", "sha256": sha256_of(weights), "dtype": "float16"},
        "architecture": {"class": "LocationAwareClassifier",
                         "kwargs": {"classes": len(spec["labels"]), "locations": len(LOCATIONS) - 1 if spec["locations"] else 0,
                                    "input_scale": config.input_scale}},
        "training": {"data": "HAM10000 train split (../shared/datasets/ham10000)", "seed": config.seed,
                     "init_seed": config.seed if config.init_seed is None else config.init_seed,
                     "device": summary["device"], "epochs": config.epochs, "batch": config.batch,
                     "optimiser": f"AdamW, one-cycle learning rate up to {config.learning_rate}, weight decay {config.weight_decay}",
                     "frozen": (f"stem and the first {config.frozen_blocks} blocks at their ImageNet weights" if config.frozen_blocks
                                else "none: the whole network is fine-tuned from ImageNet weights"),
                     "input_scale": config.input_scale,
                     "augmentation": "random turns (any angle), mirror images, zoom 0.8-1.25, shifts, saturation, contrast, "
                                     "brightness and white balance (inference.training_loop.random_views)",
                     "sampling": SAMPLING_TEXT[config.sampling],
                     "loss": f"cross-entropy, label smoothing {config.label_smoothing}"
                             + (f", mixup α {config.mixup}" if config.mixup else ""),
                     "weight_average": f"exponential moving average, decay {config.ema_decay}" if config.ema_decay else "none",
                     "location_dropout": config.location_dropout if spec["locations"] else None,
                     "logit_adjustment": summary["logit_adjustment"],
                     "batch_norm": summary["batch_norm"],
                     "data_hashes": ham10000.file_hashes(config.data, [r for r in ham10000.read_metadata(Path(config.data) / "metadata.csv")], masks=False),
                     "log": {k: summary[k] for k in ("steps", "seconds", "first_loss", "last_loss", "stopped_early")},
                     "command": training_command(config)},
        "metrics": {"ham10000_val": dict(summary["val"], how=f"HAM10000 val split, fp16 weights, PyTorch in float32 on "
                                                               f"{summary['device']}, test-time flips")},
        "intended_use": "DEMONSTRATION of decision support in the reader workspace. NOT FOR CLINICAL USE.",
        "limitations": LIMITATIONS[config.task],
        "license": "CC BY-NC 4.0 (trained on HAM10000): non-commercial use only, with attribution to Tschandl et al. 2018.",
    }
    path = Path(cards_dir) / f"{MODEL_NAMES[config.task]}.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path


def region_locations(body_region, images: np.ndarray) -> np.ndarray:
    """The location (index into LOCATIONS) of the body-region model's answer for each image."""
    from . import body_sites

    regions = classify(body_region.predict, images).argmax(axis=1)
    return np.array([location_index(body_sites.location_from_region(ham10000.REGION7[k])) for k in regions], dtype=np.int64)


def recorded_else(recorded: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, dict]:
    """Model B's locations as the platform gives them: the recorded site, else the fallback (the
    body-region model's); with how many came from where."""
    locations = np.where(recorded > 0, recorded, fallback)
    return locations, {"recorded": int((recorded > 0).sum()), "body_region_model": int(((recorded == 0) & (fallback > 0)).sum()),
                       "unknown": int((locations == 0).sum())}


def folder_report(data: Examples, found: np.ndarray, *, task: str, rows: int, sources: dict | None = None) -> dict:
    """The metrics of one model's probabilities on a folder's examples, with the CSV rows it left out."""
    report = classification_metrics.report(data.labels, found, list(TASKS[task]["labels"]))
    report["rows_left_out"] = {f"no {TASKS[task]['field']} among the model's classes": rows - len(data.labels)}
    if sources is not None:
        report["location_sources"] = sources
    return report


def evaluate_shipped(registry, *, task: str, images: Path, csv_path: Path) -> dict:
    """Metrics of the registered model, run as the platform runs it (the card's CPU backend, test-time
    flips), on any folder of images and a CSV with image_id, dx, localization (region7 follows from
    localization when absent): what others run on data this project does not have. Model B gets the
    body-region model's location where none is recorded, as in the platform."""
    records = ham10000.read_metadata(csv_path)
    data = examples(Path(images), records, task)
    model = registry.load(MODEL_NAMES[task])
    sources = None
    if TASKS[task]["locations"]:
        fallback = np.zeros_like(data.locations)
        missing = np.flatnonzero(data.locations == 0)
        if len(missing) and (registry.cards_dir / f"{MODEL_NAMES['body-region']}.json").exists():
            fallback[missing] = region_locations(registry.load(MODEL_NAMES["body-region"]), data.images[missing])
        locations, sources = recorded_else(data.locations, fallback)
        data = Examples(images=data.images, labels=data.labels, locations=locations, ids=data.ids)
    found = folder_report(data, classify(model.predict, data.images, data.locations), task=task, rows=len(records),
                          sources=sources)
    found["measured_with"] = {"model": f"{model.card.name} {model.card.version} ({model.backend})", "images": str(images),
                              "csv": str(csv_path)}
    return found


def compare_diagnosis(*, registry, data: Examples, how: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Model A against model B as shipped (the card's backend, test-time flips) on the same images:
    B with the recorded location, with the recorded location else the body-region model's (as the
    platform runs it), with the body-region model's for all, and with none; McNemar's exact test and
    the paired bootstrap of the balanced-accuracy difference, A vs each B that has a location.
    Returns the comparison and each model's probabilities."""
    model_a = registry.load(MODEL_NAMES["diagnosis"])
    model_b = registry.load(MODEL_NAMES["diagnosis-location"])
    body_region = registry.load(MODEL_NAMES["body-region"])
    from_region = region_locations(body_region, data.images)
    platform_locations, sources = recorded_else(data.locations, from_region)
    found = {
        "a_image_only": classify(model_a.predict, data.images),
        "b_recorded_location": classify(model_b.predict, data.images, data.locations),
        "b_recorded_else_body_region_model": classify(model_b.predict, data.images, platform_locations),
        "b_location_from_body_region_model": classify(model_b.predict, data.images, from_region),
        "b_no_location": classify(model_b.predict, data.images, np.zeros_like(data.locations)),
    }
    classes = len(ham10000.DX_CLASSES)
    predicted = {name: p.argmax(axis=1) for name, p in found.items()}
    compared = ("b_recorded_location", "b_recorded_else_body_region_model", "b_location_from_body_region_model")
    comparison = {
        "images": int(len(data.labels)),
        "how": how + "; shipped weights with the card's CPU backend; test-time flips; McNemar's exact test on the "
                     "images A and B classify differently right; balanced-accuracy difference with a paired "
                     "bootstrap (1,000 resamples of the images)",
        "models": {name: f"{m.card.name} {m.card.version} ({m.backend})" for name, m in
                   (("a", model_a), ("b", model_b), ("body_region", body_region))},
        "location_sources_b_recorded_else_body_region_model": sources,
        "balanced_accuracy": {name: round(classification_metrics.balanced_accuracy(
            classification_metrics.confusion(data.labels, p, classes)), 4) for name, p in predicted.items()},
        "macro_auc": {name: round(classification_metrics.macro_auc(p, data.labels), 4) for name, p in found.items()},
        **{f"mcnemar_a_vs_{name}": classification_metrics.mcnemar(data.labels, predicted["a_image_only"], predicted[name])
           for name in compared},
        **{f"balanced_accuracy_a_vs_{name}": classification_metrics.balanced_accuracy_difference(
            data.labels, predicted["a_image_only"], predicted[name], classes) for name in compared},
    }
    return comparison, found


def compare_diagnosis_on_val(*, registry, data: Path) -> dict:
    """compare_diagnosis on HAM10000 val, written into model B's card."""
    records = [r for r in ham10000.read_metadata(Path(data) / "metadata.csv") if r.split == "val"]
    comparison, _ = compare_diagnosis(registry=registry, data=examples(data, records, "diagnosis-location"),
                                      how="HAM10000 val split")
    card_path = registry.card(MODEL_NAMES["diagnosis-location"]).path
    card = json.loads(card_path.read_text())
    card["metrics"]["ham10000_val_versus_model_a"] = comparison
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return comparison


def compare_diagnosis_on_folder(*, registry, images: Path, records: list, data: Examples) -> tuple[dict, dict[str, np.ndarray]]:
    """compare_diagnosis on anyone's folder and CSV rows (what evaluate-classifier reads) and their
    examples, with each image's truth and A's and B's answers so that any other paired test can be
    run on them; returns the comparison and each model's probabilities."""
    comparison, found = compare_diagnosis(registry=registry, data=data, how=f"{len(data.labels)} images of {images}")
    labels = ham10000.DX_CLASSES
    comparison["rows_left_out"] = {"no dx among the model's classes": len(records) - len(data.labels)}
    comparison["per_image"] = [
        {"image_id": image_id, "dx": labels[truth], "a": labels[a], "b": labels[b]} for image_id, truth, a, b in
        zip(data.ids, data.labels, found["a_image_only"].argmax(axis=1), found["b_recorded_else_body_region_model"].argmax(axis=1))]
    return comparison, found
