"""This computer: CPU features, GPUs and their memory, RAM, disk, and the memory bandwidth behind speed estimates."""
