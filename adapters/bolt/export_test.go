package bolt

import bbolt "go.etcd.io/bbolt"

// HistoryLayout tells where the messages of the conversation named name
// (kernel.Conversation.String()) are stored: folded holds the highest Seq
// folded into its bucket, journal how many of its messages the journal
// holds, read from the file itself (not from the journal index).
func HistoryLayout(s *Store, name string) (folded uint64, journal int, err error) {
	err = s.view("layout", func(tx *bbolt.Tx) error {
		if cb := tx.Bucket(bucketHistory).Bucket([]byte(name)); cb != nil {
			folded = cb.Sequence()
		}
		jb := tx.Bucket(bucketJournal)
		if jb == nil {
			return nil
		}
		return jb.ForEach(func(k, v []byte) error {
			if e, err := openJournal(k, v); err == nil && string(e.conv) == name {
				journal++
			}
			return nil
		})
	})
	return folded, journal, err
}

// JournalLen returns how many messages the journal of s holds, read from
// the file.
func JournalLen(s *Store) (n int, err error) {
	err = s.view("journal", func(tx *bbolt.Tx) error {
		jb := tx.Bucket(bucketJournal)
		if jb == nil {
			return nil
		}
		return jb.ForEach(func(k, v []byte) error {
			if e, err := openJournal(k, v); err != nil || e.conv != nil {
				n++ // a message, or damaged
			}
			return nil
		})
	})
	return n, err
}

// FoldedOf returns the folded value (frame of the message for its
// conversation and Seq) that the journal value v, stored under key,
// carries; nil if v is damaged.
func FoldedOf(v []byte, key uint64) []byte {
	e, err := openJournal(u64key(key), v)
	if err != nil {
		return nil
	}
	return e.value
}

// FrameJournal returns a journal value with a valid frame for key around
// payload (a journal value's bytes after its 4-byte checksum).
func FrameJournal(key uint64, payload []byte) []byte {
	return appendFrame(nil, bucketJournal, u64key(key), payload)
}

// Written returns how many page writes (meta pages included) and how many
// bytes of pages the commits of s made since it was opened.
func Written(s *Store) (writes, bytes int64) {
	st := s.db.Stats().TxStats
	return st.GetWrite(), st.GetPageAlloc()
}

// CallLog returns how many entries calllog holds, and how many calls, read
// from the file.
func CallLog(s *Store) (entries, calls int, err error) {
	err = s.view("calllog", func(tx *bbolt.Tx) error {
		cl := tx.Bucket(bucketCallLog)
		if cl == nil {
			return nil
		}
		return cl.ForEach(func(k, v []byte) error {
			entries++
			p, err := openCallLog(k, v)
			if err != nil {
				return err
			}
			return scanCalls(bucketCallLog, k, p, func(uint32, int64, []byte) error { calls++; return nil })
		})
	})
	return entries, calls, err
}

// CallIndexSize returns how many users, records and entries the call
// index of s holds (building it if it is not built yet).
func CallIndexSize(s *Store) (users, records, entries int, err error) {
	if err := s.loadIndex(true); err != nil {
		return 0, 0, 0, err
	}
	s.imu.RLock()
	defer s.imu.RUnlock()
	x := s.calls
	if x == nil {
		return 0, 0, 0, nil
	}
	for _, u := range x.users {
		records += len(u.refs)
	}
	return len(x.users), records, len(x.entries) - len(x.free), nil
}
