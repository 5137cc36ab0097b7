"""Errors of the schema registry. Codes are public contracts (docs/errors.md)."""

from sequencer_project.api.errors import BadRequestError, ConflictError, NotFoundError


class SchemaNotFoundError(NotFoundError):
    code = "schema_not_found"
    title = "Schema not found"


class InvalidSchemaError(BadRequestError):
    code = "invalid_schema"
    title = "The schema is not a valid JSON Schema"


class SchemaTooLargeError(BadRequestError):
    code = "schema_too_large"
    title = "The schema is too large"


class IncompatibleSchemaError(ConflictError):
    code = "incompatible_schema"
    title = "The new schema version breaks the declared compatibility"


class InvalidValidationModeError(BadRequestError):
    code = "invalid_validation_mode"
    title = "Unknown schema validation mode"
