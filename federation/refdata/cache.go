package refdata

import "sync"

// DefaultLookupCacheBytes bounds the lookup cache of a Store unless
// SetLookupCache says otherwise.
const DefaultLookupCacheBytes = 4 << 20

// lookupCache keeps the encoded current item of recently looked-up codes
// so hot codes are answered without SQLite. It is emptied whenever a
// version is applied or a snapshot restored; gen makes sure a lookup that
// read the database before that cannot store what it read afterwards.
type lookupCache struct {
	mu    sync.Mutex
	gen   uint64
	limit int // bytes of keys and items; 0 disables the cache
	size  int
	m     map[string]cachedItem
}

type cachedItem struct {
	enc     []byte
	version uint64
}

// cacheEntryOverhead approximates the map and slice headers of an entry.
const cacheEntryOverhead = 64

func cacheKey(ns, code string) string { return ns + "\x00" + code }

// get returns the cached entry of key.
func (c *lookupCache) get(key string) (cachedItem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e, ok
}

// generation returns the generation to pass to put for a database read
// that starts now.
func (c *lookupCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores an entry read at generation gen, unless the cache was
// emptied since; it drops arbitrary entries to stay within the limit.
func (c *lookupCache) put(key string, gen uint64, e cachedItem) {
	n := len(key) + len(e.enc) + cacheEntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || n > c.limit {
		return
	}
	if c.m == nil {
		c.m = map[string]cachedItem{}
	}
	if old, ok := c.m[key]; ok {
		c.size -= len(key) + len(old.enc) + cacheEntryOverhead
	}
	for k, old := range c.m {
		if c.size+n <= c.limit {
			break
		}
		delete(c.m, k)
		c.size -= len(k) + len(old.enc) + cacheEntryOverhead
	}
	c.m[key] = e
	c.size += n
}

// clear empties the cache after the items changed.
func (c *lookupCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m, c.size = nil, 0
}

// setLimit changes the limit and empties the cache.
func (c *lookupCache) setLimit(bytes int) {
	c.mu.Lock()
	c.limit = max(bytes, 0)
	c.mu.Unlock()
	c.clear()
}

// SetLookupCache bounds the memory Lookup keeps for hot codes (0
// disables the cache).
func (s *Store) SetLookupCache(bytes int) { s.cache.setLimit(bytes) }
