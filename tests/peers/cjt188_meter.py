"""A CJ/T 188-2004 cold-water meter for the tests, written from the standard's frame layout
(no package serves one): it answers a read of the meter reading (identifier 901FH, sent low
byte first as 1F 90) addressed to it, over TCP as a transparent gateway would.

Frame: FE.. 68 T A0..A6 C L DATA CS 16; T 10H cold water; address 7 bytes BCD low byte first;
read C = 01H, normal reply 81H; DATA = DI0 DI1 SER then, for 901FH on a water meter: current
accumulated flow (4 bytes BCD XXXXXX.XX, low byte first) + unit (2CH = m3), settlement-day
flow + unit, real time (7 bytes), status (2 bytes). CS = sum from the 68H mod 256.

Usage: cjt188_meter.py PORT NAMEPLATE(14 digits) FLOW(e.g. 1234.56)
"""

import socket
import sys


def bcd(n: int) -> int:
    return ((n // 10) << 4) | (n % 10)


def address_bytes(nameplate: str) -> bytes:
    pairs = [nameplate[i:i + 2] for i in range(0, 14, 2)]
    return bytes(bcd(int(p)) for p in reversed(pairs))


def flow_bytes(value: str) -> bytes:
    hundredths = round(float(value) * 100)
    digits = f"{hundredths:08d}"
    pairs = [digits[i:i + 2] for i in range(0, 8, 2)]
    return bytes(bcd(int(p)) for p in reversed(pairs))


def reply(address: bytes, ser: int, flow: str) -> bytes:
    data = bytes([0x1F, 0x90, ser]) + flow_bytes(flow) + b"\x2c" + flow_bytes(flow) + b"\x2c"
    data += bytes(7) + bytes(2)
    frame = bytes([0x68, 0x10]) + address + bytes([0x81, len(data)]) + data
    return b"\xfe\xfe" + frame + bytes([sum(frame) % 256, 0x16])


def serve(port: int, nameplate: str, flow: str) -> None:
    mine = address_bytes(nameplate)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        buf = b""
        while True:
            chunk = conn.recv(256)
            if not chunk:
                break
            buf += chunk
            start = buf.find(b"\x68")
            # 68 T A(7) C L DI0 DI1 SER CS 16 = 16 bytes for a read.
            if start < 0 or len(buf) < start + 16:
                continue
            frame, buf = buf[start:start + 16], buf[start + 16:]
            if frame[9] != 0x01 or frame[11:13] != b"\x1f\x90":
                continue
            if sum(frame[:14]) % 256 != frame[14] or frame[15] != 0x16:
                continue
            if frame[2:9] == mine:
                conn.sendall(reply(mine, frame[13], flow))
        conn.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
