"""Service dialects: an OpenStack-like cloud and a payments web service."""

from __future__ import annotations

from logsynergy.synthetic.model import Dialect

_NC = "INFO nova.compute.manager [{~req}] [instance: {inst}]"
_NV = "INFO nova.virt.libvirt.driver [{~req}] [instance: {inst}]"
_NR = "INFO nova.compute.resource_tracker [{~req}]"
_WS = 'INFO nova.osapi_compute.wsgi.server [{~req}] {ip} "GET /v2/{tenant}'
CLOUD = Dialect(
    description="OpenStack-like IaaS cloud: nova compute service spawning, tracking and deleting VMs",
    session_key="inst",
    workflows=(
        (
            3,
            (
                "INFO nova.compute.claims [{~req}] [instance: {inst}] Attempting claim: "
                "memory {mem} MB, disk {disk} GB",
                "INFO nova.compute.claims [{~req}] [instance: {inst}] Claim successful",
                f"{_NV} Creating image",
                f"{_NC} VM Started (Lifecycle Event)",
                f"?{_NC} VM Paused (Lifecycle Event)",
                f"{_NC} VM Resumed (Lifecycle Event)",
                f"{_NV} Instance spawned successfully.",
                f"{_NC} Took {{sec}}.{{n}} seconds to spawn the instance on the hypervisor.",
            ),
        ),
        (
            2,
            (
                f"{_NC} Terminating instance",
                f"{_NV} Instance destroyed successfully.",
                f"{_NV} Deleting instance files /var/lib/nova/instances/{{inst}}_del",
                f"{_NV} Deletion of /var/lib/nova/instances/{{inst}}_del complete",
                f"{_NC} Took {{sec}}.{{n}} seconds to destroy the instance on the hypervisor.",
            ),
        ),
        (
            3,
            (
                f'*{_WS}/servers/detail HTTP/1.1" status: 200 len: {{~size}} time: 0.{{~ms}}',
                f'?{_WS}/os-services HTTP/1.1" status: 200 len: {{size}} time: 0.{{ms}}',
            ),
        ),
        (
            1,
            (
                f"{_NR} Auditing locally available compute resources for node {{host}}",
                f"{_NR} Final resource view: name={{host}} phys_ram=64172MB used_ram={{mem}}MB "
                "used_vcpus={vcpu}",
                f"{_NR} Compute_service record updated for {{host}}:{{host}}",
                "?INFO nova.virt.libvirt.imagecache [{~req}] image {uuid} at "
                "(/var/lib/nova/instances/_base/{hex}): checking",
            ),
        ),
    ),
    faults={
        "timeout": (
            "ERROR nova.compute.manager [{~req}] [instance: {inst}] Timeout waiting for network-vif-plugged "
            "for instance with vm_state building and task_state spawning",
        ),
        "connection_lost": (
            "ERROR nova.virt.libvirt.driver [{~req}] Connection to libvirt lost: 1",
            "ERROR oslo.messaging._drivers.impl_rabbit [-] AMQP server on {ip}:5672 is unreachable: "
            "[Errno 111] ECONNREFUSED. Trying again in {n} seconds.",
        ),
        "storage_error": (
            "ERROR nova.virt.libvirt.driver [{~req}] [instance: {inst}] Failed to attach volume "
            "at mountpoint: /dev/vdb: VolumeDeviceNotFound",
        ),
        "memory_error": (
            "ERROR nova.virt.libvirt.driver [{~req}] [instance: {inst}] libvirtError: qemu unexpectedly "
            "closed the monitor: cannot set up guest memory 'pc.ram': Cannot allocate memory",
        ),
        "crash_restart": (
            "ERROR nova.compute.manager [{~req}] [instance: {inst}] Instance failed to spawn",
            "WARNING nova.compute.manager [{~req}] [instance: {inst}] Instance shutdown by itself. "
            "Calling the stop API.",
        ),
        "auth_failure": (
            "ERROR keystonemiddleware.auth_token [-] Bad response code while validating token: 401",
        ),
    },
    precursors={
        "timeout": "WARNING nova.compute.manager [{~req}] [instance: {inst}] Received unexpected event "
        "network-vif-plugged-{uuid}",
        "connection_lost": "WARNING oslo.service.loopingcall [-] Function 'DbDriver._report_state' run "
        "outlasted interval by {sec}.{n} sec",
    },
)

PAYMENTS = Dialect(
    description="Payments web service: HTTP gateway, order, auth and payment microservices (Postgres, Redis)",
    session_key="rid",
    workflows=(
        (
            3,
            (
                "INFO gateway rid={rid} POST /api/v1/checkout from {ip} user={user}",
                "DEBUG auth rid={rid} token verified for user={user} scopes=orders,payments",
                "INFO orders rid={rid} db pool acquired connection ({n}/20 in use)",
                "INFO orders rid={rid} created order {order} total={amount} {cur}",
                "INFO payments rid={rid} charge {charge} authorized by {psp} in {ms}ms",
                "INFO orders rid={rid} db pool released connection",
                "INFO gateway rid={rid} POST /api/v1/checkout 201 {ms2}ms",
            ),
        ),
        (
            4,
            (
                "INFO gateway rid={rid} GET /api/v1/orders/{order} from {ip}",
                "?DEBUG cache rid={rid} redis hit key=order:{order}",
                "INFO gateway rid={rid} GET /api/v1/orders/{order} 200 {ms}ms",
            ),
        ),
        (
            1,
            (
                "INFO gateway rid={rid} POST /api/v1/refunds from {ip} user={user}",
                "INFO payments rid={rid} refund of {charge} amount={amount} {cur} submitted to {psp}",
                "INFO payments rid={rid} webhook refund.succeeded received for {charge}",
                "INFO gateway rid={rid} POST /api/v1/refunds 202 {ms}ms",
            ),
        ),
        (
            2,
            (
                "INFO gateway rid={rid} POST /api/v1/sessions from {ip}",
                "INFO auth rid={rid} user={user} logged in, mfa=totp",
                "INFO gateway rid={rid} POST /api/v1/sessions 200 {ms}ms",
            ),
        ),
        (
            1,
            (
                "INFO scheduler rid={rid} job settle-payouts started batch={n}",
                "*INFO payments rid={rid} payout {~charge} settled amount={~amount} {cur}",
                "?DEBUG metrics rid={rid} gc pause {ms2}ms heap={pct}%",
                "INFO scheduler rid={rid} job settle-payouts finished in {ms}ms",
            ),
        ),
    ),
    faults={
        "timeout": (
            "ERROR gateway rid={rid} upstream timeout after 3000ms calling payments-svc",
            "ERROR payments rid={rid} {psp} did not answer within 10s, charge {charge} state unknown",
        ),
        "connection_lost": (
            "ERROR orders rid={rid} connection refused to db-primary:5432",
            "ERROR cache rid={rid} redis ECONNRESET, dropping cached session",
        ),
        "storage_error": (
            "ERROR orders rid={rid} could not write order {order}: no space left on pg volume",
        ),
        "memory_error": ("FATAL orders rid={rid} java.lang.OutOfMemoryError: GC overhead limit exceeded",),
        "crash_restart": ("ERROR supervisor rid={rid} orders-worker exited with code 137, respawning",),
        "auth_failure": (
            "WARN auth rid={rid} invalid JWT signature for user={user}, rejecting with 401",
            "ERROR payments rid={rid} {psp} rejected API key (HTTP 403 forbidden)",
        ),
    },
    precursors={
        "timeout": "WARN gateway rid={rid} slow upstream payments-svc p99={ms}ms",
        "connection_lost": "WARN orders rid={rid} db pool exhausted, waiting for a free connection",
        "memory_error": "WARN metrics rid={rid} heap usage {pct}% above alert threshold",
        "storage_error": "WARN orders rid={rid} pg volume usage 97%",
    },
)
