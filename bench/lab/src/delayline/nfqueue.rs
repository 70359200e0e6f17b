//! NFQUEUE over raw netlink (`NETLINK_NETFILTER`, subsystem QUEUE): the kernel hands us each
//! queued packet's id — metadata only, no payload is copied — and holds the packet until we
//! give a verdict. Verdicts may come much later and out of band; a batch verdict accepts
//! every packet up to an id at once, which is what a FIFO delay line needs.
//!
//! Written by hand rather than with the `nfq` crate because that crate does not expose its
//! socket, so a delay line could not sleep until "next packet or next release time"
//! (it would have to spin). The protocol is small: see `linux/netfilter/nfnetlink_queue.h`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;

const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_META: u8 = 1;

const NLMSG_HDRLEN: usize = 16;
const NFGEN_HDRLEN: usize = 4;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// What to do with a held packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop = 0,
    Accept = 1,
}

/// A bound NFQUEUE in the namespace of the thread that opened it.
pub struct NfQueue {
    fd: OwnedFd,
    queue: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl NfQueue {
    /// Binds queue `queue` (metadata only, at most `max_len` packets held by the kernel).
    pub fn open(queue: u16, max_len: u32) -> io::Result<NfQueue> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: a zeroed sockaddr_nl is valid; bind with the kernel choosing our port id.
        unsafe {
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as u16;
            if libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            ) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        // Full socket buffer: the kernel drops the packet (a real queue overflow); we do not
        // want an ENOBUFS error instead.
        setsockopt(&fd, libc::SOL_NETLINK, libc::NETLINK_NO_ENOBUFS, 1)?;
        let rcvbuf = 8 << 20;
        if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcvbuf).is_err() {
            setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf)?;
        }
        let mut q = NfQueue {
            fd,
            queue,
            seq: 0,
            buf: vec![0; 1 << 16],
        };
        q.config(NFQA_CFG_CMD, &[NFQNL_CFG_CMD_BIND, 0, 0, 0])?;
        let mut params = [0u8; 5];
        params[..4].copy_from_slice(&0u32.to_be_bytes());
        params[4] = NFQNL_COPY_META;
        q.config(NFQA_CFG_PARAMS, &params)?;
        q.config(NFQA_CFG_QUEUE_MAXLEN, &max_len.to_be_bytes())?;
        Ok(q)
    }

    fn config(&mut self, attr: u16, payload: &[u8]) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let msg = build(
            NFQNL_MSG_CONFIG,
            libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16,
            self.seq,
            self.queue,
            &[(attr, payload)],
        );
        self.send(&msg)?;
        // The answer is an NLMSG_ERROR carrying 0 (an ack) or an errno.
        loop {
            let n = self.recv(true)?;
            let mut ids = Vec::new();
            match parse(&self.buf[..n], &mut ids) {
                Ok(Some(())) => return Ok(()),
                Ok(None) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: a zeroed sockaddr_nl addresses the kernel; `msg` is a valid buffer.
        let rc = unsafe {
            let mut addr: libc::sockaddr_nl = std::mem::zeroed();
            addr.nl_family = libc::AF_NETLINK as u16;
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// One datagram into `self.buf`; returns its length (0 and no error when `block` is false
    /// and nothing is waiting).
    fn recv(&mut self, block: bool) -> io::Result<usize> {
        let flags = if block { 0 } else { libc::MSG_DONTWAIT };
        // SAFETY: reading into our own buffer of the given length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                flags,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if !block && e.kind() == io::ErrorKind::WouldBlock {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(n as usize)
    }

    /// Waits until a packet is ready or `timeout` passes.
    pub fn wait(&self, timeout: Duration) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Appends the ids of every packet waiting now to `ids`, without blocking.
    pub fn drain(&mut self, ids: &mut Vec<u32>) -> io::Result<()> {
        loop {
            let n = self.recv(false)?;
            if n == 0 {
                return Ok(());
            }
            parse(&self.buf[..n], ids)?;
        }
    }

    /// A verdict on one packet.
    pub fn verdict(&mut self, id: u32, verdict: Verdict) -> io::Result<()> {
        let msg = verdict_msg(NFQNL_MSG_VERDICT, self.queue, id, verdict);
        self.send(&msg)
    }

    /// The same verdict on every packet still held with an id up to `id` (wrapping).
    pub fn verdict_upto(&mut self, id: u32, verdict: Verdict) -> io::Result<()> {
        let msg = verdict_msg(NFQNL_MSG_VERDICT_BATCH, self.queue, id, verdict);
        self.send(&msg)
    }
}

fn setsockopt(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: an int option of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn verdict_msg(kind: u16, queue: u16, id: u32, verdict: Verdict) -> Vec<u8> {
    let mut hdr = [0u8; 8];
    hdr[..4].copy_from_slice(&(verdict as u32).to_be_bytes());
    hdr[4..].copy_from_slice(&id.to_be_bytes());
    build(
        kind,
        libc::NLM_F_REQUEST as u16,
        0,
        queue,
        &[(NFQA_VERDICT_HDR, &hdr)],
    )
}

/// A netlink message: header, nfgenmsg (queue number big-endian), attributes padded to 4.
fn build(kind: u16, flags: u16, seq: u32, queue: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut msg = vec![0u8; NLMSG_HDRLEN];
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
    msg.extend_from_slice(&queue.to_be_bytes());
    for (kind, payload) in attrs {
        let len = 4 + payload.len();
        msg.extend_from_slice(&(len as u16).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(payload);
        msg.resize(align(msg.len()), 0);
    }
    let total = msg.len() as u32;
    msg[0..4].copy_from_slice(&total.to_ne_bytes());
    msg[4..6].copy_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | kind).to_ne_bytes());
    msg[6..8].copy_from_slice(&flags.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Walks the netlink messages of one datagram: packet ids go to `ids`; an ack returns
/// `Some(())`; an error message returns its errno. Truncated input ends the walk.
fn parse(buf: &[u8], ids: &mut Vec<u32>) -> io::Result<Option<()>> {
    let mut at = 0;
    let mut acked = None;
    while buf.len() >= at + NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
        let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
        if len < NLMSG_HDRLEN || at + len > buf.len() {
            break;
        }
        let body = &buf[at + NLMSG_HDRLEN..at + len];
        match kind {
            k if k == libc::NLMSG_ERROR as u16 => {
                let errno = body
                    .get(..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                if errno != 0 {
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                acked = Some(());
            }
            k if k == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET => {
                if let Some(id) = packet_id(body) {
                    ids.push(id);
                }
            }
            _ => {}
        }
        at += align(len);
    }
    Ok(acked)
}

/// The packet id in a packet message's body (nfgenmsg, then attributes).
fn packet_id(body: &[u8]) -> Option<u32> {
    let mut at = NFGEN_HDRLEN;
    while body.len() >= at + 4 {
        let len = u16::from_ne_bytes([body[at], body[at + 1]]) as usize;
        let kind = u16::from_ne_bytes([body[at + 2], body[at + 3]]) & NLA_TYPE_MASK;
        if len < 4 || at + len > body.len() {
            return None;
        }
        if kind == NFQA_PACKET_HDR && len >= 8 {
            let p = &body[at + 4..at + 8];
            return Some(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
        }
        at += align(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_msg(id: u32) -> Vec<u8> {
        let mut hdr = Vec::new();
        hdr.extend_from_slice(&id.to_be_bytes());
        hdr.extend_from_slice(&0x0800u16.to_be_bytes());
        hdr.push(0);
        // An unrelated attribute first (a mark), then the packet header.
        build(
            NFQNL_MSG_PACKET,
            0,
            0,
            0,
            &[(3, &7u32.to_be_bytes()), (NFQA_PACKET_HDR, &hdr)],
        )
    }

    #[test]
    fn packet_ids_are_read_from_several_messages_in_one_datagram() {
        let mut buf = packet_msg(41);
        buf.extend(packet_msg(42));
        let mut ids = Vec::new();
        assert_eq!(parse(&buf, &mut ids).unwrap(), None);
        assert_eq!(ids, [41, 42]);
    }

    #[test]
    fn a_truncated_datagram_ends_the_walk_without_panicking() {
        let buf = packet_msg(9);
        for cut in 0..buf.len() {
            let mut ids = Vec::new();
            let _ = parse(&buf[..cut], &mut ids);
            assert!(ids.is_empty());
        }
    }

    #[test]
    fn an_error_message_becomes_its_errno_and_zero_is_an_ack() {
        let mut err = vec![0u8; NLMSG_HDRLEN];
        err.extend_from_slice(&(-libc::EPERM).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        let len = err.len() as u32;
        err[0..4].copy_from_slice(&len.to_ne_bytes());
        err[4..6].copy_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        let e = parse(&err, &mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        err[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(parse(&err, &mut Vec::new()).unwrap(), Some(()));
    }

    #[test]
    fn a_batch_verdict_carries_the_queue_and_the_last_id_big_endian() {
        let msg = verdict_msg(NFQNL_MSG_VERDICT_BATCH, 5, 0x0102_0304, Verdict::Accept);
        assert_eq!(msg.len(), 16 + 4 + 12);
        assert_eq!(u16::from_ne_bytes([msg[4], msg[5]]), (3 << 8) | 3);
        assert_eq!(&msg[18..20], &5u16.to_be_bytes());
        assert_eq!(&msg[24..28], &1u32.to_be_bytes());
        assert_eq!(&msg[28..32], &[1, 2, 3, 4]);
    }
}
