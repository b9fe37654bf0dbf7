#!/usr/bin/env bash
# Run by Snakemake inside envs/mednas.yaml's environment right after creating it
# (https://snakemake.readthedocs.io/en/stable/snakefiles/deployment.html#providing-post-deployment-scripts).
# medmnist (classification experiments) declares torchvision, which has no CPU build and which it
# imports only to download: install it without its dependencies, the pin the Makefile uses for .venv.
# What it really imports (numpy, pandas, scikit-learn, Pillow, tqdm, torch) is in mednas.yaml.
set -euo pipefail
python -m pip install --no-deps "medmnist==3.0.2"
