"""Search spaces: genotypes and their variation operators."""
