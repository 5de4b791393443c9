package mqtt

// Online returns how many sessions (REM-4: connections subscribed to
// their events) each user has on this server now; users with none are
// absent. It is a snapshot for presence displays, such as the web demo of
// cmd/beckon, and says nothing of other servers.
func (s *Server) Online() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int)
	for k, ses := range s.sessions {
		if ses.owner != nil {
			out[k.user]++
		}
	}
	return out
}
