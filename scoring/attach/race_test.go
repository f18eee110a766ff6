//go:build race

package attach

// The race detector slows decompression about tenfold.
const timeScale = 10
