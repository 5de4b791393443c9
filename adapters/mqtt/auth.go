package mqtt

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
)

// Authenticator decides who a connection is (REM-1): it accepts password as
// proof that the connection acts as user, or returns an error saying why
// not (logged, never sent to the device). An embedding product plugs in
// its own login system here. It is called on the connection's read
// goroutine, concurrently for different connections; it should not wait
// long (the device waits for its CONNACK meanwhile).
type Authenticator interface {
	Authenticate(user string, password []byte) error
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(user string, password []byte) error

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(user string, password []byte) error { return f(user, password) }

// Anonymous accepts every connection as the user its username names,
// whatever the password: for tests and demos, never in production.
func Anonymous() Authenticator {
	return AuthenticatorFunc(func(string, []byte) error { return nil })
}

// TokenAudience is the `aud` claim of beckon's tokens.
const TokenAudience = "beckon"

// JWT accepts HS256 JSON Web Tokens signed with secret whose `sub` is the
// user, with `exp` (required, in the future) and `aud` "beckon"
// (docs/protocol.md "Tokens"). secret should be at least 32 random bytes.
func JWT(secret []byte) Authenticator {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithAudience(TokenAudience))
	key := func(*jwt.Token) (any, error) { return secret, nil }
	return AuthenticatorFunc(func(user string, password []byte) error {
		var claims jwt.RegisteredClaims
		if _, err := parser.ParseWithClaims(string(password), &claims, key); err != nil {
			return fmt.Errorf("token of %q: %w", user, err)
		}
		if claims.Subject != user {
			return fmt.Errorf("token is for %q, not for the username %q", claims.Subject, user)
		}
		return nil
	})
}

// IssueToken returns a token JWT(secret) accepts for user until now+ttl.
func IssueToken(secret []byte, user string, ttl time.Duration, now time.Time) (string, error) {
	if err := wire.ValidID(user); err != nil {
		return "", fmt.Errorf("user %q: %w", user, err)
	}
	if ttl <= 0 {
		return "", errors.New("token lifetime must be positive, e.g. 24h")
	}
	claims := jwt.RegisteredClaims{
		Subject:   user,
		Audience:  jwt.ClaimStrings{TokenAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
