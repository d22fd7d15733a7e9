"""Command lines of the inference package.

  python -m inference generate-phantoms --out DIR --seeds 0:200
  python -m inference train-quality --data DIR [--steps N] [--max-minutes M]
  python -m inference evaluate-quality --data DIR [DIR...] --out metrics.json [--split NAME --update-card]
  python -m inference quality-families --root DIR [--lofo --out DIR --steps N]   (leave one family out)
  python -m inference calibrate-quality --data DIR [DIR...] [--interval-data DIR...]   (into the card)
  python -m inference export-onnx [--name rcm-quality-mednet]
  python -m inference train-lesion --data HAM10000 / evaluate-lesion --data FOLDER --out metrics.json
  python -m inference train-classifier --task diagnosis-location --data HAM10000 [--seed S --init-seed I]
  python -m inference soup-classifier --task diagnosis-location --data HAM10000 --members CARD CARD...
  python -m inference recalibrate-classifier --task diagnosis-location --data HAM10000 [--version V]
  python -m inference evaluate-classifier --task diagnosis-location --images FOLDER --csv FILE --out metrics.json
  python -m inference compare-diagnosis --data HAM10000 | --images FOLDER --csv FILE [--out comparison.json]
  python -m inference evaluate-dermoscopy --images FOLDER --csv FILE --out DIR   (all of the above on outside data)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .datasets.ham10000 import DataInvalid
from .serving.registry import DEFAULT_CARDS_DIR, Registry

QUALITY_MODEL = "rcm-quality-mednet"


def _seeds(text: str) -> range:
    start, _, stop = text.partition(":")
    return range(int(start), int(stop))


def cmd_generate(args) -> None:
    from .phantoms.dataset import write_dataset

    manifest = write_dataset(out_dir=Path(args.out), seeds=_seeds(args.seeds), size_px=args.size,
                             pixel_spacing_um=args.spacing)
    print(f"wrote {len(_seeds(args.seeds))} phantoms to {args.out}")
    return manifest


def cmd_train(args) -> None:
    from .training.quality import TrainConfig, quality_card, train

    weights = Path(args.cards).resolve().parent / "weights" / f"{args.name}.pt"  # the card's "../weights/"
    data = tuple(Path(folder) for folder in args.data)
    config = TrainConfig(data=data[0] if len(data) == 1 else data, weights_out=weights, working_spacing_um=args.spacing,
                         default_spacing_um=args.source_spacing, steps=args.steps, batch=args.batch, patch=args.patch,
                         width=args.width, levels=args.levels, depth=args.depth, seed=args.seed,
                         max_minutes=args.max_minutes, threads=args.threads, augmentation=args.augmentation)
    log = train(config)
    card = quality_card(config=config, log=log, name=args.name, version=args.version,
                        command="python -m inference " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                        data_note="synthetic RCM phantoms (inference/phantoms/)")
    path = Path(args.cards) / f"{args.name}.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {weights} and {path}")


def cmd_evaluate(args) -> None:
    from .evaluation.quality import evaluate_quality

    registry = Registry(args.cards)
    model = registry.load(args.name, backend=args.backend)
    found = evaluate_quality(model, [Path(d) for d in args.data], default_spacing_um=args.source_spacing)
    found["measured_with"] = {"backend": model.backend, "device": model.device, "data": str(args.data)}
    Path(args.out).write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps(found, indent=2))
    if args.update_card:
        card_path = Path(args.cards) / f"{args.name}.json"
        card = json.loads(card_path.read_text())
        card["metrics"][args.split] = {k: v for k, v in found.items() if k != "measured_with"}
        card["metrics"][args.split]["how"] = args.how
        card_path.write_text(json.dumps(card, indent=2) + "\n")


def cmd_train_lesion(args) -> None:
    from .serving.lesion_segmentation import MODEL_NAME
    from .training.lesion_segmentation import TrainConfig, card_write, train

    weights = Path(args.weights_dir) / f"{MODEL_NAME}.pt"
    config = TrainConfig(data=Path(args.data), out=weights, epochs=args.epochs, batch=args.batch,
                         learning_rate=args.learning_rate, seed=args.seed, max_minutes=args.max_minutes,
                         threads=args.threads)
    summary = train(config)
    print(f"wrote {weights} and {card_write(cards_dir=Path(args.cards), weights=weights, summary=summary, config=config, version=args.version)}")


def cmd_evaluate_lesion(args) -> None:
    from .datasets import ham10000
    from .evaluation.lesion_segmentation import evaluate_shipped

    records = ham10000.read_metadata(Path(args.csv) if args.csv else Path(args.data) / "metadata.csv")
    if args.split:
        records = [r for r in records if r.split == args.split]
    found = evaluate_shipped(Registry(args.cards), data=Path(args.data), records=records, name=args.name,
                             backend=args.backend)
    Path(args.out).write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps(found, indent=2))


def cmd_train_classifier(args) -> None:
    from .serving.classification import MODEL_NAMES
    from .training.classification import TrainConfig, train
    from .training.classifier_cards import card_write

    weights = Path(args.weights_dir) / f"{MODEL_NAMES[args.task]}.pt"
    config = TrainConfig(data=Path(args.data), out=weights, task=args.task, epochs=args.epochs, batch=args.batch,
                         learning_rate=args.learning_rate, seed=args.seed, init_seed=args.init_seed, max_minutes=args.max_minutes,
                         threads=args.threads, device=args.device, input_scale=args.input_scale, sampling=args.sampling,
                         logit_adjustment=args.logit_adjustment, mixup=args.mixup)
    summary = train(config)
    print(f"wrote {weights} and {card_write(cards_dir=Path(args.cards), weights=weights, summary=summary, config=config, version=args.version)}")


def cmd_soup_classifier(args) -> None:
    from .serving.classification import MODEL_NAMES
    from .training.weight_soup import MembersDoNotMix, soup

    weights = Path(args.weights_dir) / f"{MODEL_NAMES[args.task]}.pt"
    try:
        soup(task=args.task, data=Path(args.data), members=[Path(m) for m in args.members], out=weights,
             cards_dir=Path(args.cards), version=args.version, logit_adjustment=args.logit_adjustment, device=args.device)
    except MembersDoNotMix as error:
        sys.exit(f"soup-classifier: {error}")
    print(f"wrote {weights} and its card in {args.cards}")


def cmd_recalibrate_classifier(args) -> None:
    """A soup of one: the registered run's BatchNorm statistics and τ chosen again on val, its weights
    and card rewritten in place."""
    from .serving.classification import MODEL_NAMES
    from .training.weight_soup import MembersDoNotMix, soup

    card_path = Path(args.cards) / f"{MODEL_NAMES[args.task]}.json"
    if not card_path.is_file():
        sys.exit(f"recalibrate-classifier: no card {card_path}")
    weights = card_path.parent / json.loads(card_path.read_text())["weights"]["file"]
    try:
        soup(task=args.task, data=Path(args.data), members=[card_path], out=weights, cards_dir=Path(args.cards),
             version=args.version, logit_adjustment=args.logit_adjustment, device=args.device, minimum=1)
    except MembersDoNotMix as error:
        sys.exit(f"recalibrate-classifier: {error}")
    print(f"wrote {weights} and {card_path}; run export-onnx --name {MODEL_NAMES[args.task]} next")


def cmd_evaluate_classifier(args) -> None:
    from .evaluation.classifiers import evaluate_shipped

    found = evaluate_shipped(Registry(args.cards), task=args.task, images=Path(args.images), csv_path=Path(args.csv))
    Path(args.out).write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps({k: found[k] for k in ("images", "balanced_accuracy", "balanced_accuracy_ci95", "macro_auc")}, indent=2))


def cmd_evaluate_dermoscopy(args) -> None:
    from .evaluation.dermoscopy import evaluate_all

    summary = evaluate_all(registry=Registry(args.cards), images=Path(args.images), csv_path=Path(args.csv), out=Path(args.out))
    print(json.dumps(summary, indent=2))


def cmd_compare_diagnosis(args) -> None:
    from .datasets.ham10000 import examples, read_metadata
    from .evaluation.diagnosis_comparison import compare_diagnosis_on_folder, compare_diagnosis_on_val

    if args.images and not args.csv:
        sys.exit("compare-diagnosis: --images needs --csv (image_id, dx, localization)")
    registry = Registry(args.cards)
    if args.data:
        comparison = compare_diagnosis_on_val(registry=registry, data=Path(args.data))
    else:
        records = read_metadata(Path(args.csv))
        comparison, _ = compare_diagnosis_on_folder(registry=registry, images=Path(args.images), records=records,
                                                    data=examples(Path(args.images), records, "diagnosis-location"))
    if args.out:
        Path(args.out).write_text(json.dumps(comparison, indent=2) + "\n")
    print(json.dumps({k: v for k, v in comparison.items() if k != "per_image"}, indent=2))


def cmd_quality_families(args) -> None:
    from .phantoms.families import FAMILIES
    from .training.quality import TrainConfig
    from .training.quality_families import FoldPlan, leave_one_family_out, prepare_families

    families = args.families or sorted(FAMILIES)
    prepare_families(root=Path(args.root), families=families)
    if args.lofo:
        base = TrainConfig(data=(), weights_out=Path(), steps=args.steps, width=args.width, seed=args.seed,
                           max_minutes=args.max_minutes, threads=args.threads, augmentation="heavy")
        plan = FoldPlan(root=Path(args.root), families=tuple(families), out_dir=Path(args.out), base=base)
        command = "python -m inference " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        print(json.dumps(leave_one_family_out(plan=plan, command=command)["mean_over_left_out_families"], indent=2))


def cmd_calibrate(args) -> None:
    from .evaluation.calibration import fit_calibration
    from .evaluation.quality import raw_predictions, samples_of

    model = Registry(args.cards).load(args.name, backend="pytorch")
    validation = raw_predictions(model, samples_of(model, [Path(d) for d in args.data]))
    interval = raw_predictions(model, samples_of(model, [Path(d) for d in args.interval_data])) if args.interval_data else None
    block = fit_calibration(validation, spacing_um=model.card.input["pixel_spacing_um"], interval_predictions=interval)
    block["fitted_on"] = args.how or ", ".join(args.data)
    card_path = model.card.path
    card = json.loads(card_path.read_text())
    card["calibration"] = block
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(block, indent=2))


def cmd_export(args) -> None:
    from .onnx_export import export_onnx

    export_onnx(Registry(args.cards), args.name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m inference")
    parser.add_argument("--cards", default=str(DEFAULT_CARDS_DIR))
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate-phantoms", help="write a labelled phantom data set")
    generate.add_argument("--out", required=True)
    generate.add_argument("--seeds", default="0:200", help="start:stop")
    generate.add_argument("--size", type=int, default=1024)
    generate.add_argument("--spacing", type=float, default=2.0, help="µm per pixel")
    generate.set_defaults(run=cmd_generate)

    train = commands.add_parser("train-quality", help="train MED-Net on images/ + masks/")
    train.add_argument("--data", required=True, nargs="+", help="one labelled folder or several")
    train.add_argument("--name", default=QUALITY_MODEL)
    train.add_argument("--version", default="0.1.0")
    train.add_argument("--spacing", type=float, default=4.0, help="working µm per pixel")
    train.add_argument("--source-spacing", type=float, default=None, help="µm/px when the manifest lacks it")
    train.add_argument("--steps", type=int, default=1500)
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--patch", type=int, default=256)
    train.add_argument("--width", type=int, default=16)
    train.add_argument("--levels", type=int, default=3)
    train.add_argument("--depth", type=int, default=3)
    train.add_argument("--seed", type=int, default=20201)
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--max-minutes", type=float, default=None)
    train.add_argument("--augmentation", choices=["basic", "heavy"], default="basic")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate-quality", help="metrics JSON on labelled folders")
    evaluate.add_argument("--data", required=True, nargs="+")
    evaluate.add_argument("--out", required=True)
    evaluate.add_argument("--name", default=QUALITY_MODEL)
    evaluate.add_argument("--backend", default="pytorch", choices=["pytorch", "onnxruntime", "auto"])
    evaluate.add_argument("--source-spacing", type=float, default=None)
    evaluate.add_argument("--split", default="phantom_test")
    evaluate.add_argument("--how", default="")
    evaluate.add_argument("--update-card", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)

    families = commands.add_parser("quality-families", help="phantom family folders; --lofo: leave one family out")
    families.add_argument("--root", required=True)
    families.add_argument("--families", nargs="*", default=None)
    families.add_argument("--lofo", action="store_true")
    families.add_argument("--out", default="var/lofo")
    families.add_argument("--steps", type=int, default=600)
    families.add_argument("--width", type=int, default=12)
    families.add_argument("--seed", type=int, default=20201)
    families.add_argument("--threads", type=int, default=None)
    families.add_argument("--max-minutes", type=float, default=None)
    families.set_defaults(run=cmd_quality_families)

    calibrate = commands.add_parser("calibrate-quality", help="fit the card's calibration on labelled folders")
    calibrate.add_argument("--data", required=True, nargs="+")
    calibrate.add_argument("--interval-data", nargs="*", default=None)
    calibrate.add_argument("--name", default=QUALITY_MODEL)
    calibrate.add_argument("--how", default="")
    calibrate.set_defaults(run=cmd_calibrate)

    lesion = commands.add_parser("train-lesion", help="train the dermoscopy lesion segmentation on HAM10000")
    lesion.add_argument("--data", required=True, help="folder with images/, masks/ and metadata.csv (split column)")
    lesion.add_argument("--weights-dir", default=str(DEFAULT_CARDS_DIR.parent / "weights"))
    lesion.add_argument("--version", default="0.1.0")
    lesion.add_argument("--epochs", type=int, default=3)
    lesion.add_argument("--batch", type=int, default=16)
    lesion.add_argument("--learning-rate", type=float, default=1e-3)
    lesion.add_argument("--seed", type=int, default=2018)
    lesion.add_argument("--threads", type=int, default=None)
    lesion.add_argument("--max-minutes", type=float, default=None)
    lesion.set_defaults(run=cmd_train_lesion)

    lesion_eval = commands.add_parser("evaluate-lesion", help="Jaccard/Dice JSON of the lesion model on images + masks")
    lesion_eval.add_argument("--data", required=True, help="folder with the images and <id>_segmentation.png masks below it")
    lesion_eval.add_argument("--csv", default=None, help="CSV with an image_id column (default: DATA/metadata.csv)")
    lesion_eval.add_argument("--split", default=None, help="only rows whose split column has this value")
    lesion_eval.add_argument("--out", required=True)
    lesion_eval.add_argument("--name", default=None)
    lesion_eval.add_argument("--backend", default="auto", choices=["pytorch", "onnxruntime", "auto"])
    lesion_eval.set_defaults(run=cmd_evaluate_lesion)

    classifier = commands.add_parser("train-classifier", help="train diagnosis (A), diagnosis-location (B) or body-region")
    classifier.add_argument("--task", required=True, choices=["diagnosis", "diagnosis-location", "body-region"])
    classifier.add_argument("--data", required=True, help="folder with images/ and metadata.csv (split column)")
    classifier.add_argument("--weights-dir", default=str(DEFAULT_CARDS_DIR.parent / "weights"))
    classifier.add_argument("--version", default="0.2.0")
    from .training.classification import SAMPLING, TrainConfig

    defaults = TrainConfig.__dataclass_fields__
    classifier.add_argument("--epochs", type=int, default=defaults["epochs"].default)
    classifier.add_argument("--batch", type=int, default=defaults["batch"].default)
    classifier.add_argument("--learning-rate", type=float, default=defaults["learning_rate"].default)
    classifier.add_argument("--seed", type=int, default=defaults["seed"].default, help="batches, random views, mixup")
    classifier.add_argument("--init-seed", type=int, default=None,
                            help="the head's starting weights (default: --seed); runs that share it can be averaged")
    classifier.add_argument("--input-scale", type=float, default=defaults["input_scale"].default,
                            help="the network enlarges its 200x150 input by this factor")
    classifier.add_argument("--sampling", default=defaults["sampling"].default, choices=list(SAMPLING))
    classifier.add_argument("--logit-adjustment", type=float, default=None, help="τ (default: the best on val of 0-2 by 0.5)")
    classifier.add_argument("--mixup", type=float, default=defaults["mixup"].default, help="mixup α (0: none)")
    classifier.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda")
    classifier.add_argument("--threads", type=int, default=None)
    classifier.add_argument("--max-minutes", type=float, default=None)
    classifier.set_defaults(run=cmd_train_classifier)

    soup = commands.add_parser("soup-classifier",
                               help="average the weights of train-classifier runs that differ only in --seed and --epochs (a model soup)")
    soup.add_argument("--task", required=True, choices=["diagnosis", "diagnosis-location", "body-region"])
    soup.add_argument("--data", required=True, help="the runs' data: BatchNorm is recomputed on train, τ chosen on val")
    soup.add_argument("--members", required=True, nargs="+", help="the runs' model cards (their weights beside, as ../weights/)")
    soup.add_argument("--weights-dir", default=str(DEFAULT_CARDS_DIR.parent / "weights"))
    soup.add_argument("--version", default="0.3.0")
    soup.add_argument("--logit-adjustment", type=float, default=None, help="τ (default: the best on val of 0-2 by 0.5)")
    soup.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda")
    soup.set_defaults(run=cmd_soup_classifier)

    recalibrate = commands.add_parser("recalibrate-classifier",
                                      help="choose a registered classifier's BatchNorm statistics and τ again on val")
    recalibrate.add_argument("--task", required=True, choices=["diagnosis", "diagnosis-location", "body-region"])
    recalibrate.add_argument("--data", required=True, help="the run's data: BatchNorm recomputed on train, chosen on val")
    recalibrate.add_argument("--version", required=True, help="the recalibrated model's version (its weights change)")
    recalibrate.add_argument("--logit-adjustment", type=float, default=None, help="τ (default: the best on val of 0-2 by 0.5)")
    recalibrate.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda")
    recalibrate.set_defaults(run=cmd_recalibrate_classifier)

    classifier_eval = commands.add_parser("evaluate-classifier",
                                          help="metrics JSON of a classifier on an image folder + CSV (image_id, dx, localization)")
    classifier_eval.add_argument("--task", required=True, choices=["diagnosis", "diagnosis-location", "body-region"])
    classifier_eval.add_argument("--images", required=True, help="folder with the images anywhere below it (<image_id>.jpg/.png)")
    classifier_eval.add_argument("--csv", required=True)
    classifier_eval.add_argument("--out", required=True)
    classifier_eval.set_defaults(run=cmd_evaluate_classifier)

    everything = commands.add_parser("evaluate-dermoscopy",
                                     help="every shipped dermoscopy model on one folder + CSV, and the issue's goals checked")
    everything.add_argument("--images", required=True, help="folder with the images (and lesion masks, if any) below it")
    everything.add_argument("--csv", required=True, help="image_id, dx, localization")
    everything.add_argument("--out", required=True, help="folder for the metrics JSONs and summary.json")
    everything.set_defaults(run=cmd_evaluate_dermoscopy)

    compare = commands.add_parser("compare-diagnosis",
                                  help="diagnosis A vs B (McNemar, paired bootstrap): on HAM10000 val, written into "
                                       "model B's card, or on any image folder and CSV")
    where = compare.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", help="HAM10000 folder: its val split, the result written into model B's card")
    where.add_argument("--images", help="any image folder, with --csv (image_id, dx, localization), as evaluate-classifier")
    compare.add_argument("--csv")
    compare.add_argument("--out", help="the comparison JSON (with each image's answers when --images is given)")
    compare.set_defaults(run=cmd_compare_diagnosis)

    export = commands.add_parser("export-onnx", help="write the ONNX file next to the weights and into the card")
    export.add_argument("--name", default=QUALITY_MODEL)
    export.set_defaults(run=cmd_export)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except DataInvalid as error:  # the data given cannot be used: say why, without a traceback
        sys.exit(f"{args.command}: {error}")


if __name__ == "__main__":
    main()
