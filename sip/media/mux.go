package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// ErrRemoteInUse is returned when two legs of one MuxSocket claim the same
// remote address.
var ErrRemoteInUse = errors.New("media: remote address already has a leg on this socket")

// MuxSocket carries the RTP of many legs on one UDP socket, telling them
// apart by remote address (from SDP), with batched system calls: one
// recvmmsg reads up to Batch packets, each is handed to its leg's
// Session.HandlePacket on this goroutine, and every packet those sessions
// relay to other legs of the same socket is queued and sent with one
// sendmmsg at the end of the batch. This is the port layout for high call
// counts: the per-packet syscall pair of UDPTransport becomes two syscalls
// per batch. Packets from unknown addresses are dropped (no latching).
//
// x/net allocates the source address of each received message, so unlike
// UDPTransport this path costs one small allocation per received packet.
type MuxSocket struct {
	conn  *net.UDPConn
	pc    *ipv4.PacketConn
	batch int

	mu   sync.RWMutex
	legs map[netip.AddrPort]*MuxLeg

	wmu     sync.Mutex
	out     []ipv4.Message
	outBufs [][]byte
	outVecs [][][]byte
	pending int
	inBatch atomic.Bool

	sent, recv atomic.Uint64
}

// muxSockBuf is the socket buffer size requested for a MuxSocket.
const muxSockBuf = 8 << 20

// NewMuxSocket binds addr (IPv4) with a batch size (default 64).
func NewMuxSocket(addr netip.AddrPort, batch int) (*MuxSocket, error) {
	if batch <= 0 {
		batch = 64
	}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("media: mux: %w", err)
	}
	// One socket takes the burst of every leg: size its buffers for it
	// (SO_RCVBUFFORCE when privileged, else capped by net.core.rmem_max).
	_ = conn.SetReadBuffer(muxSockBuf)
	_ = conn.SetWriteBuffer(muxSockBuf)
	forceSockBuf(conn, muxSockBuf)
	m := &MuxSocket{conn: conn, pc: ipv4.NewPacketConn(conn), batch: batch, legs: map[netip.AddrPort]*MuxLeg{},
		out: make([]ipv4.Message, batch), outBufs: make([][]byte, batch), outVecs: make([][][]byte, batch)}
	for i := range m.out {
		m.outBufs[i] = make([]byte, maxPacket)
		m.outVecs[i] = [][]byte{m.outBufs[i]}
	}
	return m, nil
}

// LocalAddr returns the shared RTP address (what every leg's SDP carries).
func (m *MuxSocket) LocalAddr() netip.AddrPort { return m.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Stats returns packets sent and received on the socket.
func (m *MuxSocket) Stats() (sent, received uint64) { return m.sent.Load(), m.recv.Load() }

// NewLeg registers a leg for remote. Attach its Session before traffic.
func (m *MuxSocket) NewLeg(remote netip.AddrPort) (*MuxLeg, error) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.legs[remote] != nil {
		return nil, ErrRemoteInUse
	}
	l := &MuxLeg{m: m, remote: remote, dst: net.UDPAddrFromAddrPort(remote), closed: make(chan struct{})}
	m.legs[remote] = l
	return l, nil
}

// Run reads and dispatches until the socket is closed.
func (m *MuxSocket) Run() error {
	msgs := make([]ipv4.Message, m.batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxPacket)}
	}
	for {
		n, err := m.pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("media: mux read: %w", err)
		}
		m.recv.Add(uint64(n))
		m.inBatch.Store(true)
		m.mu.RLock()
		for i := range n {
			ua, ok := msgs[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			ap := ua.AddrPort()
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			if l := m.legs[ap]; l != nil {
				if s := l.sess.Load(); s != nil {
					s.HandlePacket(msgs[i].Buffers[0][:msgs[i].N])
				}
			}
		}
		m.mu.RUnlock()
		m.inBatch.Store(false)
		m.wmu.Lock()
		m.flushLocked()
		m.wmu.Unlock()
	}
}

// Close closes the socket; Run returns.
func (m *MuxSocket) Close() error { return m.conn.Close() }

func (m *MuxSocket) enqueue(pkt []byte, dst *net.UDPAddr) error {
	if len(pkt) > maxPacket {
		return nil
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	i := m.pending
	n := copy(m.outBufs[i], pkt)
	m.outVecs[i][0] = m.outBufs[i][:n]
	m.out[i].Buffers = m.outVecs[i]
	m.out[i].Addr = dst
	m.pending++
	// Writers outside the read loop (playback, DTMF) send at once; relayed
	// packets wait for the end of the batch (or a full queue).
	if m.pending == len(m.out) || !m.inBatch.Load() {
		return m.flushLocked()
	}
	return nil
}

func (m *MuxSocket) flushLocked() error {
	var err error
	for sent := 0; sent < m.pending; {
		k, werr := m.pc.WriteBatch(m.out[sent:m.pending], 0)
		if werr != nil {
			err = werr
			break
		}
		if k == 0 {
			break
		}
		sent += k
	}
	m.sent.Add(uint64(m.pending))
	m.pending = 0
	return err
}

// MuxLeg is one leg of a MuxSocket; it implements Transport. Reading is
// done by the socket's Run loop, so ReadPacket only blocks until Close
// (Session.Run then simply waits for the call to end).
type MuxLeg struct {
	m      *MuxSocket
	remote netip.AddrPort
	dst    *net.UDPAddr
	sess   atomic.Pointer[Session]
	closed chan struct{}
	once   sync.Once
}

// Attach routes the leg's incoming packets to s.
func (l *MuxLeg) Attach(s *Session) { l.sess.Store(s) }

// ReadPacket blocks until the leg is closed.
func (l *MuxLeg) ReadPacket([]byte) (int, error) {
	<-l.closed
	return 0, net.ErrClosed
}

// WritePacket queues pkt for the leg's remote address.
func (l *MuxLeg) WritePacket(pkt []byte) error { return l.m.enqueue(pkt, l.dst) }

// Close removes the leg from its socket. It is idempotent.
func (l *MuxLeg) Close() error {
	l.once.Do(func() {
		l.m.mu.Lock()
		if l.m.legs[l.remote] == l {
			delete(l.m.legs, l.remote)
		}
		l.m.mu.Unlock()
		close(l.closed)
	})
	return nil
}
