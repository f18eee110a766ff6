//go:build !race

package attach

const timeScale = 1
