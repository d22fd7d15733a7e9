"""One network per module (as in torchvision's models/ and MONAI's networks/nets/)."""
