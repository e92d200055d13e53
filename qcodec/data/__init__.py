"""Image I/O, file helpers and data sets (Kodak, MNIST, CIFAR-10, Medical MNIST)."""
