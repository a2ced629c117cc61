import struct,sys
def attr(t, payload):
    l=4+len(payload); pad=(4-l%4)%4
    return struct.pack("HH",l,t)+payload+b"\0"*pad
U=0xffffffff
def pct(p): return int(round(p/100*U))
def ticks(ns): return int(ns/1000*15.625)
def msg(kind, opts):
    body=struct.pack("BBHiIII", 0,0,0, 1, 0, 0, 1)+attr(1,kind.encode()+b"\0")+attr(2,opts)
    return struct.pack("IHHII", 16+len(body), 36, 0, 0, 0)+body
def netem(lat=0,jit=0,limit=1000,loss=0,dup=0,nested=b""):
    nested+=attr(10, struct.pack("q", lat)); nested+=attr(11, struct.pack("q", jit))
    return msg("netem", struct.pack("IIIIII", ticks(lat), limit, loss, 0, dup, ticks(jit))+nested)
v=sys.argv[1]
out={
 "delay": lambda: netem(lat=25_000_000, limit=2500, nested=attr(6, struct.pack("IiIi", 30_000_000//8, 0,0,0))),
 "jitter": lambda: netem(lat=10_000_000, jit=2_000_000, nested=attr(1, struct.pack("III", pct(25),0,0))+attr(3, struct.pack("II", pct(25), pct(50))), ),
 "full": lambda: netem(lat=10_000_000, jit=2_000_000, loss=pct(1), dup=pct(0.5), nested=attr(1, struct.pack("III", pct(25), pct(10), pct(5)))+attr(3, struct.pack("II", pct(5), pct(50)))+attr(4, struct.pack("II", pct(0.1), 0))+attr(6, struct.pack("IiIi", 2500000, -10, 53, 5))+attr(12, struct.pack("qqiiqq", 1_000_000, 5_000_000, 64, 1500, 0, 0))+attr(7, struct.pack("I",1))),
 "ge": lambda: netem(lat=100_000_000, limit=2500, nested=attr(5, attr(2, struct.pack("IIII", pct(0.1), pct(5), pct(10), pct(95))))+attr(12, struct.pack("qqiiqq", 0, 0, 0, 0, 3_000_000, 1_000_000))),
 "gi": lambda: netem(nested=attr(5, attr(1, struct.pack("IIIII", pct(1), pct(2), pct(3), pct(4), pct(5))))+attr(8, struct.pack("Q", 10_000_000_000//8))+attr(6, struct.pack("IiIi", U, 0, 0, 0))),
 "cake": lambda: msg("cake", attr(2, struct.pack("Q", 10_000_000//8))),
 "cakeunl": lambda: msg("cake", attr(2, struct.pack("Q", 0))),
 "bare": lambda: netem(),
}[v]()
sys.stdout.buffer.write(out)
