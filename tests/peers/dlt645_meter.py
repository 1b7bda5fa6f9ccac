"""An independent DL/T 645-2007 meter for the tests: PyPI `dlt645` (3.2.0) serving one meter
over TCP (as a transparent gateway would) or on a serial line (RTU).

Usage: dlt645_meter.py tcp PORT NAMEPLATE | rtu DEVICE NAMEPLATE

The meter holds fixed values the test knows: forward active 12345.67 kWh, tariffs 1-4
1000.01/2000.02/3000.03/4000.04 kWh, phase-A voltage 220.1 V, current 5.123 A, power 1.1234 kW.
`dlt645` sends the address bytes in the order of the string it is given, so it is given the
nameplate digits reversed byte by byte (the standard sends the low byte first).
"""

import sys
import time

from dlt645 import MeterServerService

VALUES_00 = {
    0x00010000: 12345.67,
    0x00010100: 1000.01,
    0x00010200: 2000.02,
    0x00010300: 3000.03,
    0x00010400: 4000.04,
}
VALUES_02 = {
    0x02010100: 220.1,
    0x02020100: 5.123,
    0x02030000: 1.1234,
}


def wire_order(nameplate: str) -> str:
    pairs = [nameplate[i:i + 2] for i in range(0, 12, 2)]
    return "".join(reversed(pairs))


def main() -> None:
    mode, where, nameplate = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "tcp":
        server = MeterServerService.new_tcp_server("127.0.0.1", int(where), 5.0)
    else:
        server = MeterServerService.new_rtu_server(where, 8, 1, 2400, "E", 5.0)
    server.set_address(wire_order(nameplate))
    for di, value in VALUES_00.items():
        assert server.set_00(di, value), hex(di)
    for di, value in VALUES_02.items():
        assert server.set_02(di, value), hex(di)
    server.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
