package mqtt

// Held reports what s holds now: its connections, its sessions and the
// events queued for them, so that the tests of package mqtt_test can
// check their bounds.
func Held(s *Server) (conns, sessions, events int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ses := range s.sessions {
		ses.qmu.Lock()
		events += len(ses.queue)
		ses.qmu.Unlock()
	}
	return len(s.conns), len(s.sessions), events
}
