#!/usr/bin/env python3
"""An independent Modbus server for jieneng's real-peer tests, built on pymodbus.

Serves the raw register contents of golden device files (tests/devices/<profile>.toml) as
unit ids 1, 2, ... so the collector can be checked against a server nobody here wrote.

usage: pymodbus_server.py PORT (tcp|rtu) GOLDEN.toml [GOLDEN.toml ...]
       pymodbus_server.py /dev/pts/N serial GOLDEN.toml [...]   (RTU on a serial port, 9600 8N1)

Unit ids that are not served stay silent, like an unpowered meter on a real bus.
"""
import asyncio
import sys
import tomllib

from pymodbus import FramerType
from pymodbus.datastore import ModbusDeviceContext, ModbusServerContext, ModbusSparseDataBlock
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer


def device(golden_path):
    with open(golden_path, "rb") as f:
        golden = tomllib.load(f)
    hr, ir = {}, {}
    for block in golden["blocks"]:
        table = hr if block["function"] == 3 else ir
        for i, word in enumerate(block["words"]):
            table[block["address"] + i] = word
    return ModbusDeviceContext(hr=ModbusSparseDataBlock(hr or {1: 0}), ir=ModbusSparseDataBlock(ir or {1: 0}))


async def main():
    port, framing, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    devices = {unit: device(path) for unit, path in enumerate(files, start=1)}
    context = ModbusServerContext(devices=devices, single=False)
    framer = FramerType.RTU if framing == "rtu" else FramerType.SOCKET
    if framing == "serial":
        server = ModbusSerialServer(
            context, port=port, framer=FramerType.RTU, baudrate=9600, parity="N", bytesize=8, stopbits=1, ignore_missing_devices=True
        )
    else:
        server = ModbusTcpServer(context, address=("127.0.0.1", int(port)), framer=framer, ignore_missing_devices=True)
    print(f"serving {len(devices)} unit(s) on {port} ({framing})", flush=True)
    # pymodbus routes unknown ids to a device 0 and fails with "device failure"; make them
    # unknown instead, so the server stays silent as an absent meter would.
    core = server.context
    get_values = core.async_getValues

    async def known_only(device_id, *args, **kwargs):
        if device_id not in devices:
            raise NoSuchIdException(f"no device {device_id}")
        return await get_values(device_id, *args, **kwargs)

    core.async_getValues = known_only
    await server.serve_forever()


asyncio.run(main())
