"""The networks of the paper reproductions: HQNN and quanvolutional classifiers, QMAE, CIFAR nets."""
