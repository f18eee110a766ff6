package main

import "errors"

// fullScore scores the test side with the default rules plus Bayes.
func (r *run) fullScore(storePath string) error {
	return errors.New("not wired yet")
}
