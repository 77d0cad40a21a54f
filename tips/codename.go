// Package tips is the whistleblower intake's core: the codename a source
// keeps, the one slow hash of it the server stores, the submission sealed
// to the oversight body before anything is written, and the signed
// promise of filing the source takes away.
package tips

import (
	"crypto/rand"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"

	"github.com/sethvargo/go-diceware/diceware"
	"golang.org/x/crypto/scrypt"
)

// CodenameWords is how many words a codename has: EFF's large word list
// gives each log2(7776) ≈ 12.9 bits, so seven give about 90.
const CodenameWords = 7

// CodenameBits is a codename's entropy in bits.
var CodenameBits = CodenameWords * math.Log2(float64(len(wordList())))

// wordList is EFF's large word list, in dice order, as the served module
// github.com/sethvargo/go-diceware ships it.
var wordList = sync.OnceValue(func() []string {
	wl := diceware.WordListEffLarge()
	var out []string
	var walk func(n, digits int)
	walk = func(n, digits int) {
		if digits == wl.Digits() {
			if w := wl.WordAt(n); w != "" {
				out = append(out, w)
			}
			return
		}
		for d := 1; d <= 6; d++ {
			walk(n*10+d, digits+1)
		}
	}
	walk(0, 0)
	return out
})

var wordSet = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(wordList()))
	for _, w := range wordList() {
		m[w] = true
	}
	return m
})

// NewCodename draws a codename: CodenameWords words of the list, each
// uniformly at random (crypto/rand), separated by single spaces.
func NewCodename() (string, error) {
	list := wordList()
	words := make([]string, CodenameWords)
	for i := range words {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		if err != nil {
			return "", err
		}
		words[i] = list[n.Int64()]
	}
	return strings.Join(words, " "), nil
}

// ErrCodename is the one answer to a codename that is not one: it says
// nothing of why, so that a guess learns nothing.
var ErrCodename = errors.New("tips: that is not a codename of this intake")

// MaxCodename bounds what is read as a codename.
const MaxCodename = 256

// NormalizeCodename reads a codename as a source may type it back (any
// case, any spacing) and returns it as NewCodename wrote it, or
// ErrCodename.
func NormalizeCodename(s string) (string, error) {
	if len(s) > MaxCodename {
		return "", ErrCodename
	}
	words := strings.Fields(strings.ToLower(s))
	if len(words) != CodenameWords {
		return "", ErrCodename
	}
	for _, w := range words {
		if !wordSet()[w] {
			return "", ErrCodename
		}
	}
	return strings.Join(words, " "), nil
}

// The scrypt parameters of a codename's hash: 2^15 × 8 × 128 bytes, 32
// MiB and some tens of milliseconds per guess (OWASP's minimum for
// scrypt is N=2^17 with r=8 at 1 thread; a codename's 90 bits make a
// slower hash buy little, and the intake must answer a source quickly).
const (
	scryptN = 1 << 15
	scryptR = 8
	scryptP = 1
)

// Lookup is the only form of a codename the server keeps: its scrypt
// hash under the deployment's salt, which is also how a returning source's
// submissions are found. Equal codenames give equal lookups; without the
// codename, a lookup tells nothing of it.
func Lookup(codename string, salt []byte) ([]byte, error) {
	c, err := NormalizeCodename(codename)
	if err != nil {
		return nil, err
	}
	if len(salt) < 16 {
		return nil, errors.New("tips: a deployment's salt has at least 16 bytes")
	}
	return scrypt.Key([]byte(c), salt, scryptN, scryptR, scryptP, 32)
}
