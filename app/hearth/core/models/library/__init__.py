"""The models on this computer: the models folder, the starter model, per-model settings, and how each fits here."""
