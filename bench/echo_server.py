"""Reference echo server for bench/workloads/echo.mjs: the same job on Python asyncio (or uvloop).

    python3 bench/echo_server.py --mode protocol|streams [--port N] [--uvloop]

Prints `listening <port>` and serves until killed.
"""
import argparse
import asyncio


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def handle(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main(args):
    loop = asyncio.get_running_loop()
    if args.mode == 'protocol':
        server = await loop.create_server(Echo, '127.0.0.1', args.port, backlog=1024)
    else:
        server = await asyncio.start_server(handle, '127.0.0.1', args.port, backlog=1024)
    print(f'listening {server.sockets[0].getsockname()[1]}', flush=True)
    await server.serve_forever()


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--mode', choices=['protocol', 'streams'], default='protocol')
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--uvloop', action='store_true')
    a = p.parse_args()
    if a.uvloop:
        import uvloop
        uvloop.install()
    try:
        asyncio.run(main(a))
    except KeyboardInterrupt:
        pass
