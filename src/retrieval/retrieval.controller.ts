import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/http/api-error-responses.decorator.js';
import type { CheckedRequest } from '../common/http/request-context.decorator.js';
import { CollectionsService } from './collections.service.js';
import { DocumentsService } from './documents.service.js';
import { CollectionDto, CollectionListDto, CreateCollectionDto, DeletedDto } from './dto/collection.dto.js';
import { DocumentDto, UpsertDocumentsDto, UpsertDocumentsResponseDto } from './dto/documents.dto.js';
import { UPSERT_DOCUMENTS_SCHEMA } from './dto/documents.schema.js';
import { SearchRequestDto, SearchResponseDto } from './dto/search.dto.js';
import { SEARCH_REQUEST_SCHEMA } from './dto/search.schema.js';
import { SearchService } from './search.service.js';

@ApiTags('retrieval')
@ApiBearerAuth()
@ApiErrorResponses(400, 401, 404, 409, 429, 503)
@Controller('collections')
export class RetrievalController {
  constructor(
    private readonly collections: CollectionsService,
    private readonly documents: DocumentsService,
    private readonly searches: SearchService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a collection bound to one embedding model (or text-only with `model: null`)' })
  @ApiResponse({ status: 201, type: CollectionDto })
  create(@Body() dto: CreateCollectionDto): Promise<CollectionDto> {
    return this.collections.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List collections with their document and chunk counts' })
  @ApiResponse({ status: 200, type: CollectionListDto })
  list(): Promise<CollectionListDto> {
    return this.collections.list();
  }

  @Get(':name')
  @ApiOperation({ summary: 'One collection: model, dimensions, document and chunk counts' })
  @ApiResponse({ status: 200, type: CollectionDto })
  get(@Param('name') name: string): Promise<CollectionDto> {
    return this.collections.get(name);
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Delete a collection with its documents, chunks and index' })
  @ApiResponse({ status: 200, type: DeletedDto })
  delete(@Param('name') name: string): Promise<DeletedDto> {
    return this.collections.delete(name);
  }

  @Post(':name/documents')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Upsert documents: chunked, embedded (only changed chunks), each replaced whole in one transaction',
    description: '413 beyond RETRIEVAL_MAX_DOCUMENTS documents; 409 when the model returns vectors of other dimensions than the collection holds.',
  })
  @ApiResponse({ status: 200, type: UpsertDocumentsResponseDto })
  @ApiErrorResponses(413, 502, 504)
  @ApiBody({ type: UpsertDocumentsDto })
  @RouteSchema({ body: UPSERT_DOCUMENTS_SCHEMA })
  upsert(@Param('name') name: string, @Req() call: CheckedRequest<UpsertDocumentsDto>): Promise<UpsertDocumentsResponseDto> {
    return this.documents.upsert(name, call.body, call.ballast);
  }

  @Get(':name/documents/:id')
  @ApiOperation({ summary: 'One document with its chunks' })
  @ApiResponse({ status: 200, type: DocumentDto })
  getDocument(@Param('name') name: string, @Param('id') id: string): Promise<DocumentDto> {
    return this.documents.get(name, id);
  }

  @Delete(':name/documents/:id')
  @ApiOperation({ summary: 'Delete one document and its chunks' })
  @ApiResponse({ status: 200, type: DeletedDto })
  deleteDocument(@Param('name') name: string, @Param('id') id: string): Promise<DeletedDto> {
    return this.documents.delete(name, id);
  }

  @Post(':name/search')
  @HttpCode(200)
  @ApiOperation({ summary: 'Search a collection: vector, text or hybrid (default), with a metadata filter' })
  @ApiResponse({ status: 200, type: SearchResponseDto })
  @ApiErrorResponses(502, 504)
  @ApiBody({ type: SearchRequestDto })
  @RouteSchema({ body: SEARCH_REQUEST_SCHEMA })
  search(@Param('name') name: string, @Req() call: CheckedRequest<SearchRequestDto>): Promise<SearchResponseDto> {
    return this.searches.search(name, call.body, call.ballast);
  }
}
