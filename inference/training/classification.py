"""Training the dermoscopy classifiers on HAM10000: diagnosis without (model A) and with (model B)
the body location, and the body region (`region7`) from the image.

Trained on `train`, chosen on `val`; seeded end to end. The classes are unbalanced (nv is two thirds
of HAM10000) and the paper's measure is balanced accuracy, which rewards the rare classes: batches
are drawn with class weights ∝ 1/√(class frequency), and the remaining tilt towards the frequent
classes is removed by post-hoc logit adjustment folded into the head's bias. Images enter at their
HAM10000 size (200x150, any other size is resized to it); the network enlarges them itself.
What the models answer and how they are run: inference.serving.classification; metrics:
inference.evaluation.classification_metrics; the cards: classifier_cards.
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

from ..datasets import ham10000
from ..datasets.ham10000 import Examples
from ..evaluation import classification_metrics
from ..networks.classifier import LocationAwareClassifier
from ..serving.classification import LOCATIONS, TASKS, classify, view_outputs
from ..serving.preprocessing import to_input
from .training_loop import one_cycle_training, random_views, save_fp16, seed_everything


def train_and_val(data: Path, task: str) -> tuple[Examples, Examples]:
    """The task's examples of the data set's train and val splits (metadata.csv's split column)."""
    records = ham10000.read_metadata(Path(data) / "metadata.csv")
    return tuple(ham10000.examples(data, [r for r in records if r.split == split], task) for split in ("train", "val"))


def build(task: str, *, pretrained: bool, input_scale: float = 1.0) -> LocationAwareClassifier:
    """The task's network (ImageNet Lite0 weights when `pretrained`), as its card's architecture says."""
    spec = TASKS[task]
    return LocationAwareClassifier(classes=len(spec["labels"]), locations=len(LOCATIONS) - 1 if spec["locations"] else 0,
                                   pretrained=pretrained, input_scale=input_scale)


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
    """The network's answers on the examples, as the platform's classify() gives them."""
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
    """cuda when asked for "auto" and there is one, else the device named."""
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
