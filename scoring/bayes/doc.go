// Package bayes is mailwarden's own statistical spam classifier: the Bayes
// that SME Server users train by moving mail into their LearnAsSpam and
// LearnAsHam folders (SME: spamassassin UseBayes, UseBayesAutoLearn,
// BayesAutoLearnThresholdSpam, BayesAutoLearnThresholdNonspam).
//
// What it implements:
//
//   - A tokenizer designed for mail (tokenize.go): header-aware tokens with a
//     prefix per header for the fields that describe sender and route
//     (Subject; the addresses of From, To, Cc, Reply-To, Sender, Return-Path
//     and Errors-To; Received; Message-ID; Content-Type's media type; X-Mailer,
//     User-Agent, X-MimeOLE and X-Newsreader; other fields give none, as in
//     SpamBayes), URL host and
//     domain tokens, decoded text and HTML-as-text of every text part, the
//     type, name and size of attachments, long-word and 8-bit summaries as
//     SpamBayes does, and optional sparse bigrams (distance 1 and 2, as in
//     CRM114 and rspamd). It leaves out families of tokens that always come
//     together (HTML element names, the inline parts' types and charsets,
//     per-field counts, URL paths): chi-square combining takes each token as
//     independent evidence, and such families outvoted the words (see
//     BENCHMARKS.md, "Bayes accuracy"). Header fields that filters add on the way (X-Spam-*,
//     Authentication-Results, ARC-*, X-Virus-*, X-Mailwarden-* and other
//     filters' verdict headers) never give tokens: the classifier learns the
//     message, not an earlier filter's verdict.
//   - Gary Robinson's token probability with a prior (f(w) = (s·x + n·p(w)) /
//     (s + n)) and Fisher's chi-square combining of the most significant
//     tokens (classify.go), as SpamBayes, SpamAssassin and Bogofilter do.
//   - The probability mapped to SpamAssassin's symbols and default scores
//     (check.go): BAYES_00 (-1.9) for p < 0.01, BAYES_05 (-0.5) < 0.05,
//     BAYES_20 (-0.001) < 0.20, BAYES_40 (-0.001) < 0.40, BAYES_50 (0.8) < 0.60,
//     BAYES_60 (1.5) < 0.80, BAYES_80 (2.0) < 0.95, BAYES_95 (3.0) < 0.99,
//     BAYES_99 (3.5) from 0.99, and BAYES_999 (0.2) added from 0.999. Bayes
//     adds nothing until min_spam and min_ham messages (200 each, as
//     SpamAssassin's bayes_min_spam_num/bayes_min_ham_num) have been learned.
//   - Autolearn (autolearn.go), a modifier that runs last: learn as spam at or
//     above autolearn_threshold_spam (6.0) when at least 3 points come from
//     header checks and 3 from body checks, as ham at or below
//     autolearn_threshold_nonspam (0.1); Bayes' own symbols never count.
//   - The token store (store.go, store_bolt.go, store_redis.go): counts per
//     token (keys are 64-bit hashes of the token text), the number of spam
//     and ham learned, and a record of every learned message by a stable
//     message hash, so learning a message twice does nothing and learning it
//     as the other class moves it. Tokens not seen for expire_days are
//     expired. The embedded store is a bbolt file (one writer, readers never
//     blocked); the Redis store lets several mailwarden instances share one
//     Bayes.
//
// It does not implement SpamAssassin's token-pair "hapaxes" tweaks or
// per-user Bayes databases: one site-wide Bayes, as SME has.
//
// Config: [bayes] enabled, min_spam, min_ham, bigrams, expire_days,
// autolearn, autolearn_threshold_spam, autolearn_threshold_nonspam, backend,
// path, redis_addr; the maildir watcher's keys are under [bayes.learn] (see
// package learn).
package bayes
