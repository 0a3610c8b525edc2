/* schema.h: our tables of the Kubernetes 1.32 types, one per message
 * (schema.c is generated from the protobuf wire schema by
 * scripts/gen-protobuf-schema.py): each field's number, JSON name, type and
 * Go presence rules. Two readers: src/api/protobuf.c turns protobuf bodies
 * into the JSON a Go client would have sent, and schema_check.c holds the
 * JSON of the fields netpol does not model to the same types, as the API
 * server's strict decoder does. It lives in decode, below api, so that
 * both can use it. */
#ifndef NETPOL_DECODE_SCHEMA_H
#define NETPOL_DECODE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum pb_type {
	PB_STRING,
	PB_BYTES,                    /* JSON: base64 */
	PB_BOOL,
	PB_INT32,
	PB_INT64,
	PB_MSG,                      /* a message with its own table */
	PB_TIME,                     /* meta/v1 Time: RFC 3339, seconds */
	PB_MICROTIME,                /* meta/v1 MicroTime: RFC 3339, microseconds */
	PB_DURATION,                 /* meta/v1 Duration (not reachable today) */
	PB_FIELDSV1,                 /* meta/v1 FieldsV1: raw JSON */
	PB_QUANTITY,                 /* resource.Quantity: a string */
	PB_INTORSTR,                 /* intstr.IntOrString: a number or a string */
	PB_RAWEXT,                   /* runtime.RawExtension: raw JSON */
};

/* Flags: how the Go field is declared decides what its JSON looks like. */
enum {
	PB_REPEATED = 1 << 0,        /* a slice: a JSON array */
	PB_MAP = 1 << 1,             /* map<string, type>: a JSON object */
	PB_POINTER = 1 << 2,         /* a Go pointer: present even when zero */
	PB_OMITEMPTY = 1 << 3,       /* zero values are left out of the JSON */
	PB_INLINE = 1 << 4,          /* embedded: its fields join the parent's */
};

#define PB_MAX_FIELDS 64

struct pb_message;

struct pb_field {
	uint32_t num;
	const char *json;            /* "" when PB_INLINE */
	uint8_t type;                /* enum pb_type; a map's value type */
	uint8_t flags;
	const struct pb_message *msg; /* PB_MSG only */
};

struct pb_message {
	const char *name;
	const struct pb_field *fields; /* sorted by num */
	size_t nfields;
};

/* The roots: the kinds the API serves, and DeleteOptions. */
extern const struct pb_message pb_core_Namespace, pb_core_Pod, pb_core_Service,
	pb_core_Endpoints, pb_apps_Deployment, pb_networking_NetworkPolicy,
	pb_meta_DeleteOptions;
/* The messages whose fields decode's tables hand to the schema check. */
extern const struct pb_message pb_core_PodSpec, pb_core_PodStatus, pb_core_Container,
	pb_core_ContainerPort, pb_core_EnvVar, pb_core_ServiceSpec, pb_core_ServicePort,
	pb_apps_DeploymentSpec;

#endif
