"""Networks: dynamic (weight-sharing) layers, blocks, the cardiac supernet / subnets, baselines."""
