/**
 * Which modules take a record photo. Zoho's photo page (seed 004) lists Leads, Contacts,
 * Accounts, Products, Vendors and custom modules; zoho-api.md adds Deals. Zoho's other standard
 * modules (seed 001's list of modules taking attachments, and the activity modules) have no photo:
 * a photo for them is refused before any byte goes out. A module Zoho does not ship is a custom
 * module and may take one.
 */
import { InspectionError } from './errors.ts';

/** Zoho's standard modules that have no record photo (API names). */
const WITHOUT_PHOTO = new Set([
  'Tasks',
  'Events',
  'Calls',
  'Notes',
  'Campaigns',
  'Cases',
  'Solutions',
  'Price_Books',
  'Quotes',
  'Sales_Orders',
  'Purchase_Orders',
  'Invoices',
  'Activities',
  'Attachments',
  'Appointments__s',
  'Services__s',
]);

export function checkPhotoModule(module: string): void {
  if (WITHOUT_PHOTO.has(module)) {
    throw new InspectionError(
      'PHOTO_NOT_SUPPORTED',
      `${module} records have no photo in Zoho CRM (photos go to Leads, Contacts, Accounts, Deals, Products, Vendors and custom modules); drop the image under attachments/ instead.`,
      { module },
    );
  }
}
