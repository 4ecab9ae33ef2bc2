"""Infrastructure dialects: an HDFS-like storage system and a BlueGene/L-like supercomputer."""

from __future__ import annotations

from logsynergy.synthetic.model import Dialect

_DN = "INFO dfs.DataNode"
_FS = "INFO dfs.FSNamesystem: BLOCK*"
STORAGE = Dialect(
    description="HDFS-like distributed file system: namenode and datanodes storing and replicating blocks",
    session_key="blk",
    workflows=(
        (
            5,
            (
                f"{_DN}$DataXceiver: Receiving block {{blk}} src: /{{ip}}:{{port}} dest: /{{ip2}}:50010",
                f"{_FS} NameSystem.allocateBlock: {{path}}. {{blk}}",
                f"*{_DN}$DataXceiver: Receiving block {{blk}} src: /{{~ip}}:{{~port}} dest: /{{~ip}}:50010",
                f"*{_DN}$PacketResponder: PacketResponder {{~n}} for block {{blk}} terminating",
                f"{_DN}$PacketResponder: Received block {{blk}} of size {{size}} from /{{ip}}",
                f"*{_FS} NameSystem.addStoredBlock: blockMap updated: {{~ip}}:50010 is added to {{blk}} "
                "size {size}",
            ),
        ),
        (
            2,
            (
                f"{_FS} ask {{ip}}:50010 to replicate {{blk}} to datanode(s) {{ip2}}:50010",
                f"{_DN}: {{ip}}:50010 Starting thread to transfer block {{blk}} to {{ip2}}:50010",
                f"{_DN}$DataTransfer: {{ip}}:50010:Transmitted block {{blk}} to /{{ip2}}:50010",
                f"{_DN}$DataXceiver: Received block {{blk}} src: /{{ip}}:{{port}} dest: /{{ip2}}:50010 "
                "of size {size}",
            ),
        ),
        (
            2,
            (
                f"{_FS} NameSystem.delete: {{blk}} is added to invalidSet of {{ip}}:50010",
                f"?{_FS} ask {{ip}}:50010 to delete {{blk}}",
                "INFO dfs.FSDataset: Deleting block {blk} file /mnt/hadoop/dfs/data/current/subdir{n}/{blk}",
            ),
        ),
        (
            2,
            (
                f"{_DN}$DataXceiver: {{ip}}:50010 Served block {{blk}} to /{{ip2}}",
                "?INFO dfs.DataBlockScanner: Verification succeeded for {blk}",
            ),
        ),
        (
            1,
            (
                f"{_DN}: BlockReport of {{count}} blocks got processed in {{ms}} msecs",
                "?INFO dfs.FSNamesystem: Roll Edit Log from {ip}",
                "?INFO dfs.FSNamesystem: Number of transactions: {count2} Total time for transactions(ms): "
                "{ms2}",
            ),
        ),
    ),
    faults={
        "timeout": (
            "WARN dfs.DataNode$PacketResponder: Timeout waiting for ack from datanode {ip}:50010 "
            "for block {blk}",
            "WARN dfs.DFSClient: DFSOutputStream ResponseProcessor exception for block {blk} "
            "java.net.SocketTimeoutException: 66000 millis timeout while waiting for channel",
        ),
        "connection_lost": (
            "WARN dfs.DataNode$DataXceiver: {ip}:50010:Got exception while serving {blk} to /{ip2}:",
            "INFO dfs.DataNode$DataXceiver: writeBlock {blk} received exception java.io.IOException: "
            "Connection reset by peer",
        ),
        "storage_error": (
            "WARN dfs.FSDataset: Unexpected error trying to delete block {blk}. "
            "BlockInfo not found in volumeMap.",
            "ERROR dfs.DataNode: DiskChecker$DiskErrorException: "
            "volume /mnt/hadoop/dfs/data{n} failed checkDir",
        ),
        "memory_error": (
            "FATAL dfs.DataNode: Exiting DataXceiver, java heap exhausted receiving block {blk}",
        ),
        "crash_restart": (
            "INFO dfs.DataNode: SHUTDOWN_MSG: Shutting down DataNode at {host}/{ip}",
            "INFO dfs.DataNode: STARTUP_MSG: Starting DataNode host = {host}/{ip} after unclean exit",
        ),
        "auth_failure": (
            "WARN ipc.Server: IPC Server handler {n} on 9000, call addBlock({path}) from {ip}:{port}: "
            "org.apache.hadoop.security.AccessControlException: Permission denied: user={user}",
        ),
    },
    precursors={
        "timeout": "INFO dfs.DataNode$PacketResponder: Slow BlockReceiver write packet to mirror took {ms}ms",
        "storage_error": "WARN dfs.DataBlockScanner: Verification of {blk} slow, volume data{n} busy",
        "memory_error": "WARN dfs.DataNode: JvmPauseMonitor detected pause of {ms}ms on {ip}",
    },
)

_K = "{node} RAS KERNEL"
_A = "{node} RAS APP"
COMPUTE = Dialect(
    description="BlueGene/L-like supercomputer: compute nodes, job control daemon (ciod), kernel RAS events",
    session_key="node",
    workflows=(
        (
            4,
            (
                f"{_A} INFO ciod: job {{job}} started by {{user}} on partition {{part}}",
                f"{_A} INFO ciod: LOGIN chdir({{path}}) ok, loading program image",
                f"?{_K} INFO CE sym {{n}}, at {{addr}}, mask 0x0{{n2}}",
                f"*{_K} INFO {{~count}} ddr error(s) detected and corrected on rank 0, "
                "symbol {~n}, bit {~n}",
                f"?{_K} INFO instruction cache parity error corrected",
                f"{_A} INFO ciod: Received signal 15, code=0, errno=0, address={{addr}}",
                f"{_A} INFO ciod: job {{job}} exited normally, rc=0, elapsed {{sec}}s",
            ),
        ),
        (
            2,
            (
                "{node} RAS MMCS INFO boot partition {part} for user {user}",
                f"{_K} INFO total of {{count}} ddr error(s) detected and corrected",
                "{node} RAS MMCS INFO partition {part} initialized in {sec}s",
            ),
        ),
        (
            2,
            (
                "{node} RAS DISCOVERY INFO node card {card} VPD check passed",
                "*{node} RAS MONITOR INFO fan module {~n} speed {~rpm} rpm nominal",
                "?{node} RAS MONITOR INFO temperature sensor {n} reads {temp}C",
            ),
        ),
        (
            2,
            (
                f"{_A} INFO ciod: opened file {{path}} for job {{job}}",
                f"*{_A} INFO ciod: wrote {{~size}} bytes to fd {{n}}",
                f"{_A} INFO ciod: closed file descriptor {{n}} for job {{job}}",
            ),
        ),
    ),
    faults={
        "timeout": (f"{_A} FATAL ciod: failed to read message prefix on control stream, watchdog expired",),
        "connection_lost": (
            "{node} RAS MMCS ERROR node card {card} not responding",
            f"{_A} FATAL ciod: Error reading message prefix on CioStream socket to {{ip}}:{{port}}, "
            "Link has been severed",
        ),
        "storage_error": (
            f"{_A} FATAL ciod: Error loading {{path}}: program image unreadable, Input/output error",
        ),
        "memory_error": (f"{_K} FATAL machine check interrupt", f"{_K} FATAL data TLB error interrupt"),
        "crash_restart": (f"{_K} FATAL kernel panic", f"{_K} FATAL rts: kernel terminated for reason 1004"),
        "auth_failure": (
            f"{_A} FATAL ciod: LOGIN {{user}} rejected, credentials expired for partition {{part}}",
        ),
    },
    precursors={
        "memory_error": f"{_K} WARNING {{count}} ddr errors corrected on rank 0 within {{sec}}s, "
        "threshold reached",
        "timeout": f"{_A} WARNING ciod: control stream idle {{ms}}ms without heartbeat",
        "connection_lost": "{node} RAS MONITOR WARNING link training retry on torus port {n}",
    },
)
